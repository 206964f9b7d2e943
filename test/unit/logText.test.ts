import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatLogLine } from '../../agent/logText.js';

const test = suite('human log lines');

test('time, level, message, then key=value; quoted only when needed; no pid', () => {
  const line = formatLogLine(JSON.stringify({
    level: 40, time: '2026-11-25T10:00:15.412Z', pid: 7, netns: 'qrouter-1', reason: 'timeout', error: 'no answer within 5000 ms',
    msg: 'namespace read failed', targets: ['pushgateway'], count: 3, tricky: 'a=b', ok: false, none: null,
  }));
  assert.is(line, '2026-11-25T10:00:15.412Z WARN  namespace read failed netns=qrouter-1 reason=timeout error="no answer within 5000 ms" '
    + 'targets=["pushgateway"] count=3 tricky="a=b" ok=false none=null\n');
});

test('levels line up; a line that is not JSON passes through', () => {
  assert.match(formatLogLine('{"level":30,"time":"t","msg":"m"}'), /^t INFO  m\n$/);
  assert.match(formatLogLine('{"level":50,"time":"t","msg":"m"}'), /^t ERROR m\n$/);
  assert.is(formatLogLine('not json'), 'not json\n');
});

test.run();
