// MqttConnection without a broker: nothing is queued while disconnected,
// retries come with growing gaps, the error is logged once however often it
// retries, and stop() is bounded.

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

/** A listener that closes every connection at once, noting when each came. */
async function closingListener(): Promise<{ port: number; attempts: number[]; close: () => void }> {
  const attempts: number[] = [];
  const srv = createServer((socket) => {
    attempts.push(Date.now());
    socket.destroy();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const addr = srv.address();
  return { port: typeof addr === 'object' && addr ? addr.port : 1, attempts, close: () => srv.close() };
}

function connection(port: number, lines: string[], backoffMs: number[], onStateChange = () => {}): MqttConnection {
  return new MqttConnection({
    settings: mqttSettings({ enabled: true, url: `mqtt://127.0.0.1:${port}` }, 'unit'),
    subscriptions: [],
    log: createLogger('debug', (l) => lines.push(l)),
    onConnect: () => assert.fail('no broker there'),
    onMessage: () => {},
    onStateChange,
    backoffMs,
  });
}

describe('MqttConnection with the broker down', () => {
  it('drops publishes instead of queueing, says why, stops at once', async () => {
    const port = await closedPort();
    const lines: string[] = [];
    let changes = 0;
    const conn = connection(port, lines, [50, 100], () => {
      changes += 1;
    });
    conn.start();
    for (let i = 0; i < 100; i++) {
      assert.equal(conn.publish({ topic: 't', payload: 'x'.repeat(1000), retain: true }), false);
    }
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(conn.state, 'connecting');
    assert.match(conn.status().last_error ?? '', /ECONNREFUSED/);
    assert.equal(lines.filter((l) => /ECONNREFUSED/.test(l)).length, 1, lines.join(''));
    assert.ok(changes >= 1 && changes <= 2, `state changes: ${changes}`);
    const t0 = Date.now();
    await conn.stop([{ topic: 't', payload: 'offline', retain: true }]);
    assert.ok(Date.now() - t0 < 500);
  });

  it('retries with backoff: attempts at least 100/200/400/800 ms apart (the steps less their jitter), logged once, none after stop', async () => {
    const broker = await closingListener();
    const lines: string[] = [];
    // ±20 % jitter on each step. A gap is the step plus one connect and close, which a busy machine
    // stretches, so the lower bounds are what is sure: together they show the wait doubling.
    const conn = connection(broker.port, lines, [100, 200, 400, 800]);
    try {
      const t0 = Date.now();
      conn.start();
      const deadline = Date.now() + 6000;
      while (broker.attempts.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const seen = broker.attempts.map((t) => t - t0);
      assert.ok(seen.length >= 5, `five attempts within 6 s: ${seen.join(', ')} ms`);
      const gaps = seen.slice(1, 5).map((t, i) => t - seen[i]!);
      [100, 200, 400, 800].forEach((step, i) => {
        assert.ok(gaps[i]! >= step * 0.8 - 5, `gap ${i + 1} is ${gaps[i]} ms, step ${step} ms (${gaps.join(', ')})`);
      });
      assert.equal(
        lines.filter((l) => /retrying with backoff/.test(l)).length,
        1,
        `one log line for all attempts:\n${lines.join('')}`,
      );
      await conn.stop([]);
      const n = broker.attempts.length;
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(broker.attempts.length, n, 'no attempt after stop');
    } finally {
      await conn.stop([]);
      broker.close();
    }
  });
});
