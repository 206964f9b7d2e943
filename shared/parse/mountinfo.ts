/**
 * Namespace types from /proc/self/mountinfo: a namespace file bound somewhere (`ip netns add`, a
 * container runtime) is an nsfs mount whose root field names its type and inode, `net:[4026532591]`.
 * stat() cannot tell a mount or pid namespace file from a network one (same nsfs device, same mode);
 * this can, without the NS_GET_NSTYPE ioctl. Returns inode → type ("net", "pid", "mnt", ...).
 */
export function parseNamespaceMounts(text: string): Map<number, string> {
  const types = new Map<number, string>();
  for (const line of text.split('\n')) {
    const separator = line.indexOf(' - ');
    if (separator < 0) continue;
    const fsType = line.slice(separator + 3).split(' ')[0];
    if (fsType !== 'nsfs') continue;
    const root = line.split(' ')[3] ?? '';
    const match = /^([a-z_]+):\[(\d+)\]$/.exec(root);
    if (match) types.set(Number(match[2]), match[1]!);
  }
  return types;
}
