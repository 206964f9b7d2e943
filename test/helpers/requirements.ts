import { execFileSync } from 'node:child_process';
import { suite as uvuSuite, type Test } from 'uvu';

/** How a skipped suite is announced; scripts/test.mjs names each such suite after its closing line. */
const SKIPPED_MARK = 'SKIPPED (not in CI): ';

/** CI sets CI=true: there a missing requirement is a failure, never a silent skip. */
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

export type Requirement = 'root' | 'ip' | 'nsenter' | 'ping' | 'prometheus' | 'pushgateway' | 'promtool' | 'openssl' | 'victoria-metrics' | 'systemd-analyze' | 'setpriv' | 'iptables' | 'squid' | 'logrotate' | 'haproxy' | 'curl' | 'node-exporter';

const COMMANDS: Record<Exclude<Requirement, 'root'>, string> = {
  ip: 'ip', nsenter: 'nsenter', ping: 'ping', prometheus: 'prometheus', pushgateway: 'prometheus-pushgateway',
  promtool: 'promtool', openssl: 'openssl', 'victoria-metrics': 'victoria-metrics',
  'systemd-analyze': 'systemd-analyze', setpriv: 'setpriv', iptables: 'iptables', squid: 'squid', logrotate: 'logrotate', haproxy: 'haproxy', curl: 'curl', 'node-exporter': 'prometheus-node-exporter',
};

function missingRequirements(requirements: readonly Requirement[]): string[] {
  return requirements.filter((requirement) => {
    if (requirement === 'root') return process.getuid?.() !== 0;
    try {
      execFileSync('sh', ['-c', `command -v ${COMMANDS[requirement]}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
}

/**
 * Runs a suite when its requirements are met. Outside CI a missing one skips the suite: the reason
 * is printed and the skip registered with uvu, so the closing line counts it. In CI the suite gets
 * one more test, failing, that names what is missing.
 */
export function runWhen(suite: Test, requirements: readonly Requirement[], name: string): void {
  const missing = missingRequirements(requirements);
  if (missing.length === 0) {
    suite.run();
    return;
  }
  const reason = `${name} needs ${missing.join(', ')}`;
  if (!IN_CI) {
    console.log(`${SKIPPED_MARK}${reason}`);
    const skipped = uvuSuite(name);
    skipped.skip();
    skipped.run();
    return;
  }
  suite('requirements', () => {
    throw new Error(`${reason}: install it (see .ci/run) or run as root`);
  });
  suite.run();
}
