// MqttConnection without a broker: nothing is queued while disconnected, the
// error is logged once however often it retries, and stop() is bounded.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { mqttSettings } from '../../../src/mqtt/mqtt-settings';
import { MqttConnection } from '../../../src/outputs/mqtt-connection';
import { createLogger } from '../../../src/system/log';

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 1));
    });
  });
}

describe('MqttConnection with the broker down', () => {
  it('drops publishes instead of queueing, logs the error once, retries with backoff, stops at once', async () => {
    const port = await closedPort();
    const lines: string[] = [];
    let changes = 0;
    const conn = new MqttConnection({
      settings: mqttSettings({ enabled: true, url: `mqtt://127.0.0.1:${port}` }, 'unit'),
      subscriptions: [],
      log: createLogger('debug', (l) => lines.push(l)),
      onConnect: () => assert.fail('no broker there'),
      onMessage: () => {},
      onStateChange: () => {
        changes += 1;
      },
      backoffMs: [50, 100],
    });
    conn.start();
    for (let i = 0; i < 100; i++) {
      assert.equal(conn.publish({ topic: 't', payload: 'x'.repeat(1000), retain: true }), false);
    }
    await new Promise((r) => setTimeout(r, 700)); // about 6 attempts
    assert.equal(conn.state, 'connecting');
    assert.match(conn.status().last_error ?? '', /ECONNREFUSED/);
    assert.equal(lines.filter((l) => /ECONNREFUSED/.test(l)).length, 1, lines.join(''));
    assert.ok(changes >= 1 && changes <= 2, `state changes: ${changes}`);
    const t0 = Date.now();
    await conn.stop([{ topic: 't', payload: 'offline', retain: true }]);
    assert.ok(Date.now() - t0 < 500);
    const n = lines.length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(lines.length, n, 'no retries after stop');
  });
});
