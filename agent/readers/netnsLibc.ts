import { createRequire } from 'node:module';
import { RTM_GETADDR, RTM_GETLINK, buildDumpRequest, endsWithDone } from '../../shared/parse/netlink.js';

const CLONE_NEWNET = 0x40000000;
const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SOL_NETLINK = 270;
const NETLINK_ADD_MEMBERSHIP = 1;
/** The rtnetlink multicast groups that announce IPv4 and IPv6 address changes. */
const RTNLGRP_IPV4_IFADDR = 5;
const RTNLGRP_IPV6_IFADDR = 9;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
/** Set on every message of a dump reply; an announcement has it clear. */
const NLM_F_MULTI = 0x2;
const MSG_DONTWAIT = 0x40;
const POLLIN = 0x1;
const POLLFD_BYTES = 8;
const EINTR = 4;
const EAGAIN = 11;
/** An announcement was dropped: the socket's queue was full. */
const ENOBUFS = 105;
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
   * from any thread, for as long as it is open (and keeps the namespace alive that long). With
   * `watchAddresses`, it also hears the namespace's address changes (addressesChanged).
   */
  openRoute(timeoutMs: number, watchAddresses?: boolean): number;
  /**
   * Whether the namespace's addresses may have changed since the last call for this socket (opened
   * with watchAddresses): an announcement arrived, or one was lost. Empties the socket's queue
   * without waiting.
   */
  addressesChanged(fd: number): boolean;
  /**
   * The sockets among `fds` (each opened with watchAddresses) whose namespace's addresses may have
   * changed, as addressesChanged would say of each, asked of the kernel with one poll(2) for all.
   */
  addressesChangedAmong(fds: readonly number[]): Set<number>;
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
  const poll = lib.func('int poll(void *fds, unsigned long count, int timeout)');
  // One buffer per dump type, kept: each dump's datagrams are received one after the other into
  // it, so a dump is never copied, and the address dump is still whole while the links arrive.
  const buffers = new Map<number, Uint8Array>();
  /** Sockets on which an address announcement arrived in the middle of a dump. */
  const announced = new Set<number>();
  /** Where announcements are received to be dropped: only their arrival counts. */
  const discard = new Uint8Array(8 * 1024);
  const group = Buffer.alloc(4);
  /** struct pollfd (int fd, short events, short revents) for each socket asked about; grows. */
  let pollfds = Buffer.alloc(POLLFD_BYTES * 64);
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
    openRoute(timeoutMs, watchAddresses = false) {
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
      for (const announcing of watchAddresses ? [RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR] : []) {
        group.writeUInt32LE(announcing, 0);
        if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group, 4) !== 0) {
          close(fd);
          fail('setsockopt(NETLINK_ADD_MEMBERSHIP)');
        }
      }
      announced.delete(fd);
      return fd;
    },
    addressesChangedAmong(fds) {
      if (pollfds.length < fds.length * POLLFD_BYTES) pollfds = Buffer.alloc(fds.length * 2 * POLLFD_BYTES);
      fds.forEach((fd, index) => {
        pollfds.writeInt32LE(fd, index * POLLFD_BYTES);
        pollfds.writeInt16LE(POLLIN, index * POLLFD_BYTES + 4);
        pollfds.writeInt16LE(0, index * POLLFD_BYTES + 6);
      });
      // Without waiting: a queued announcement makes a socket readable, a lost one (ENOBUFS) an error.
      if (fds.length > 0 && (poll(pollfds, fds.length, 0) as number) < 0 && koffi.errno() !== EINTR) fail('poll');
      const changed = new Set<number>();
      fds.forEach((fd, index) => {
        const ready = pollfds.readInt16LE(index * POLLFD_BYTES + 6) !== 0;
        if ((ready || announced.has(fd)) && this.addressesChanged(fd)) changed.add(fd);
      });
      return changed;
    },
    addressesChanged(fd) {
      let changed = announced.delete(fd);
      // No dump is running between reads: whatever is queued is an announcement (or what is left
      // of a dump given up on), and is dropped.
      for (;;) {
        const length = Number(recv(fd, discard, discard.length, MSG_DONTWAIT | MSG_TRUNC));
        if (length > 0) {
          changed = true;
          continue;
        }
        if (length === 0) return changed;
        const errno = koffi.errno();
        if (errno === EAGAIN) return changed;
        if (errno === ENOBUFS) changed = true;
        else if (errno !== EINTR) fail('recv');
      }
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
          if (length < 0) {
            // A lost announcement: the dump goes on, and the addresses are asked for again next time.
            if (koffi.errno() !== ENOBUFS) fail('recv');
            announced.add(fd);
            continue;
          }
          if (length > room) throw new LibcError(`netlink datagram of ${length} bytes exceeds the ${room}-byte buffer`, 0);
          if (length === 0) throw new LibcError('netlink socket closed before NLMSG_DONE', 0);
          if (isAnnouncement(buffer, filled, length)) {
            // An address change announced while the dump runs (each comes in a datagram of its
            // own): noted for addressesChanged and left out of the dump.
            announced.add(fd);
            continue;
          }
          filled += length;
          if (endsWithDone(buffer, filled - length, filled)) return buffer.subarray(0, filled);
        }
      });
    },
    close(fd) {
      announced.delete(fd);
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

/** Whether the datagram at `start` is an address announcement: RTM_NEWADDR or RTM_DELADDR outside a dump. */
function isAnnouncement(bytes: Uint8Array, start: number, length: number): boolean {
  if (length < 16) return false;
  const type = bytes[start + 4]! | (bytes[start + 5]! << 8);
  const flags = bytes[start + 6]! | (bytes[start + 7]! << 8);
  return (type === RTM_NEWADDR || type === RTM_DELADDR) && (flags & NLM_F_MULTI) === 0;
}
