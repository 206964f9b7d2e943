import { createRequire } from 'node:module';
import { RTM_GETADDR, RTM_GETLINK, buildDumpRequest, endsWithDone } from '../../shared/parse/netlink.js';

const CLONE_NEWNET = 0x40000000;
const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
/** recv returns a datagram's real length with MSG_TRUNC, so a too-small buffer is seen, not silently cut. */
const MSG_TRUNC = 0x20;
/** The kernel fills one dump datagram up to 32 KiB; each recv is given at least twice that. */
const RECV_BUFFER_BYTES = 64 * 1024;

export class LibcError extends Error {
  readonly code = 'ELIBC';
  constructor(message: string, readonly errno: number) {
    super(message);
  }
}

/** The few libc calls the setns reader makes from its worker thread, bound with koffi. */
export interface Libc {
  /** setns(2) for a network namespace; applies to the calling thread only. */
  enterNetNamespace(fd: number): void;
  /**
   * An rtnetlink socket of the calling thread's network namespace: it dumps that namespace's links
   * from any thread, for as long as it is open (and keeps the namespace alive that long).
   */
  openRoute(timeoutMs: number): number;
  /**
   * Whole rtnetlink dumps over `fd`, one per type, in order, each with its NLMSG_DONE: views of one
   * buffer per type, valid until the next dump of that type.
   */
  dumpRoute(fd: number, types: readonly (typeof RTM_GETLINK | typeof RTM_GETADDR)[]): Uint8Array[];
  close(fd: number): void;
}

/**
 * Loads libc through koffi (its package ships prebuilt binaries, so no install script is needed).
 * Throws when koffi or libc cannot load: the caller then stays with nsenter.
 */
export function loadLibc(): Libc {
  // koffi is CommonJS with a native addon; require keeps it out of the ESM graph until asked for.
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const setns = lib.func('int setns(int fd, int nstype)');
  const socket = lib.func('int socket(int domain, int type, int protocol)');
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t length)');
  const send = lib.func('long send(int fd, const void *buf, size_t length, int flags)');
  // A plain pointer: koffi hands over the Buffer's own memory; _Out_ would copy all 64 KiB back on every call.
  const recv = lib.func('long recv(int fd, void *buf, size_t length, int flags)');
  const close = lib.func('int close(int fd)');
  // One buffer per dump type, kept: each dump's datagrams are received one after the other into
  // it, so a dump is never copied, and the address dump is still whole while the links arrive.
  const buffers = new Map<number, Uint8Array>();
  const timeval = Buffer.alloc(16);
  let timevalFor = -1;
  // Built once; each dump only renumbers its request (nlmsg_seq at byte 8).
  const requests = new Map<number, { bytes: Uint8Array; view: DataView }>(([RTM_GETLINK, RTM_GETADDR] as const).map((type) => {
    const bytes = buildDumpRequest(type, 0);
    return [type, { bytes, view: new DataView(bytes.buffer) }];
  }));
  let seq = 0;
  const fail = (call: string): never => {
    const errno = koffi.errno();
    throw new LibcError(`${call} failed: errno ${errno}`, errno);
  };

  return {
    enterNetNamespace(fd) {
      if (setns(fd, CLONE_NEWNET) !== 0) fail('setns');
    },
    openRoute(timeoutMs) {
      // The socket belongs to the namespace the thread is in when it is created, for good.
      const fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE) as number;
      if (fd < 0) fail('socket(AF_NETLINK)');
      if (timevalFor !== timeoutMs) {
        timeval.writeBigInt64LE(BigInt(Math.floor(timeoutMs / 1000)), 0);
        timeval.writeBigInt64LE(BigInt((timeoutMs % 1000) * 1000), 8);
        timevalFor = timeoutMs;
      }
      if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval, 16) !== 0) {
        close(fd);
        fail('setsockopt(SO_RCVTIMEO)');
      }
      return fd;
    },
    dumpRoute(fd, types) {
      return types.map((type) => {
        seq = (seq + 1) >>> 0;
        const request = requests.get(type)!;
        request.view.setUint32(8, seq, true);
        if (send(fd, request.bytes, request.bytes.length, 0) !== request.bytes.length) fail('send');
        let buffer = buffers.get(type) ?? new Uint8Array(RECV_BUFFER_BYTES);
        let filled = 0;
        for (;;) {
          if (buffer.length - filled < RECV_BUFFER_BYTES) {
            const bigger = new Uint8Array(buffer.length * 2);
            bigger.set(buffer.subarray(0, filled));
            buffer = bigger;
          }
          buffers.set(type, buffer);
          const room = buffer.length - filled;
          const length = Number(recv(fd, filled === 0 ? buffer : buffer.subarray(filled), room, MSG_TRUNC));
          if (length < 0) fail('recv');
          if (length > room) throw new LibcError(`netlink datagram of ${length} bytes exceeds the ${room}-byte buffer`, 0);
          if (length === 0) throw new LibcError('netlink socket closed before NLMSG_DONE', 0);
          filled += length;
          if (endsWithDone(buffer, filled - length, filled)) return buffer.subarray(0, filled);
        }
      });
    },
    close(fd) {
      close(fd);
    },
  };
}

/**
 * libc's _exit(2), for a process whose worker thread is stuck in the kernel: Node's own exit waits
 * for every thread and would never return, while _exit ends them all at once.
 */
export function bindExit(): (code: number) => never {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const exit = koffi.load('libc.so.6').func('void _exit(int status)');
  return (code) => {
    exit(code);
    throw new Error('_exit returned');
  };
}
