// Programs before netfilter: the tc and /proc parsers on real output (test/golden/ebpf, with how each
// was made), fuzzed; the hooks and the sentence made of them; and what they do to health.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { blindSpotText, hooksFromProcesses, hooksFromTc } from '../../../src/detector/ebpf-hooks';
import { parseBpfFdinfo } from '../../../src/net/bpf-fdinfo';
import { parseTcFilterJson } from '../../../src/net/tc-filter-json';
import { buildStatus, type StatusInputs } from '../../../src/status/status-document';
import { check, GOLDEN, mutatedJson, oddJson, randomText } from '../../helpers/fuzz-kit';

const golden = (f: string) => readFileSync(join(GOLDEN, 'ebpf', f), 'utf8');

describe('parseTcFilterJson on real tc output', () => {
  it('no qdisc and an empty clsact: no filters', () => {
    assert.deepEqual(parseTcFilterJson(golden('tc-filter-no-qdisc.json')), []);
    assert.deepEqual(parseTcFilterJson(golden('tc-filter-clsact-empty.json')), []);
    assert.deepEqual(parseTcFilterJson(''), []);
  });

  it("the dae stand-in: one filter (not tc's header line), its names, id and direct-action", () => {
    assert.deepEqual(parseTcFilterJson(golden('tc-filter-dae-standin.json')), [
      {
        pref: 2,
        filterName: 'dae_lan_ingress_l2:[*fsobj]',
        programName: 'tproxy_lan_ingr',
        programId: 99,
        directAction: true,
        classic: false,
      },
    ]);
  });

  it('classic bytecode is a filter too, without names', () => {
    assert.deepEqual(parseTcFilterJson(golden('tc-filter-classic.json')), [
      { pref: 1, directAction: false, classic: true },
    ]);
  });

  it('names what is wrong with text that is not tc -j output', () => {
    assert.throws(() => parseTcFilterJson('Cannot find device "x"'), /^Error: tc -j filter: not JSON/);
    assert.throws(() => parseTcFilterJson('{"kind":"bpf"}'), /tc -j filter: expected a JSON array/);
  });

  it('fuzz: any text or JSON gives filters of the documented shape or its own error', () => {
    const samples = ['tc-filter-dae-standin.json', 'tc-filter-classic.json'].map(golden);
    check(
      fc.property(
        fc.oneof(
          randomText(),
          mutatedJson(samples),
          oddJson().map((v) => JSON.stringify(v) ?? ''),
        ),
        (t) => {
          let out: ReturnType<typeof parseTcFilterJson>;
          try {
            out = parseTcFilterJson(t);
          } catch (err) {
            assert.match((err as Error).message, /^tc -j filter: /);
            return;
          }
          for (const f of out) {
            assert.equal(typeof f.pref, 'number');
            assert.equal(typeof f.directAction, 'boolean');
            assert.equal(typeof f.classic, 'boolean');
            for (const k of ['filterName', 'programName'] as const)
              assert.ok(f[k] === undefined || typeof f[k] === 'string');
            assert.ok(f.programId === undefined || typeof f.programId === 'number');
          }
        },
      ),
      300,
    );
  });
});

describe('parseBpfFdinfo on real /proc output', () => {
  it("reads a program's type and id", () => {
    assert.deepEqual(parseBpfFdinfo(golden('fdinfo-sched-cls.txt')), { type: 3, id: 101 });
  });
  it('anything else is not a program', () => {
    assert.equal(parseBpfFdinfo(golden('fdinfo-not-bpf.txt')), undefined);
    assert.equal(parseBpfFdinfo(''), undefined);
  });
  it('fuzz: never throws, a type is a whole number', () => {
    check(
      fc.property(randomText(), (t) => {
        const r = parseBpfFdinfo(`${t}\nprog_type:\t${t.length}\n${t}`);
        assert.ok(r === undefined || Number.isInteger(r.type));
      }),
      300,
    );
  });
});

describe('hooks before netfilter', () => {
  const dae = parseTcFilterJson(golden('tc-filter-dae-standin.json'));
  const classic = parseTcFilterJson(golden('tc-filter-classic.json'));

  it("a filter on a LAN ingress is a blind spot; dae's is named", () => {
    const hooks = hooksFromTc([
      { ifname: 'br-lan', filters: dae },
      { ifname: 'eth1', filters: classic },
      { ifname: 'eth2', filters: [] },
    ]);
    assert.deepEqual(hooks, [
      { interface: 'br-lan', program: 'dae_lan_ingress_l2:[*fsobj]', blind: true, proxy: 'dae' },
      { interface: 'eth1', program: 'classic BPF bytecode', blind: true },
    ]);
    const text = blindSpotText(hooks) ?? '';
    assert.match(text, /dae's dae_lan_ingress_l2:\[\*fsobj\] on br-lan ingress; classic BPF bytecode on eth1 ingress/);
    assert.match(text, /never reach conntrack, the ruleset or the probe/);
  });

  it('by process: a known proxy is blind (programs counted once), another process only listed', () => {
    const hooks = hooksFromProcesses([
      { pid: 40, comm: 'qosify', program: { type: 3, id: 7 } },
      { pid: 12, comm: 'dae', program: { type: 3, id: 9 } },
      { pid: 12, comm: 'dae', program: { type: 3, id: 9 } },
      { pid: 12, comm: 'dae', program: { type: 3, id: 8 } },
    ]);
    assert.deepEqual(hooks, [
      { program: '2 tc programs (id 8, 9)', process: { name: 'dae', pid: 12 }, blind: true, proxy: 'dae' },
      { program: '1 tc program (id 7)', process: { name: 'qosify', pid: 40 }, blind: false },
    ]);
    assert.match(blindSpotText(hooks) ?? '', /dae's 2 tc programs \(id 8, 9\) held by dae \(pid 12; without tc/);
    assert.equal(blindSpotText(hooks.slice(1)), undefined);
  });

  it('health: a blind spot makes it degraded with the sentence as headline', () => {
    const hooks = hooksFromTc([{ ifname: 'br-lan', filters: dae }]);
    const base: StatusInputs = {
      version: 't',
      nodeId: 'n',
      startedAt: 0,
      now: 1000,
      conntrack: { state: 'running', events: 0, lost: 0, resyncs: 0, restarts: 0, parse_errors: 0 },
      lostRecently: false,
      lan: { interfaces: ['br-lan'], subnets: [], source: 'config', router_addresses: [] },
      forwards: [],
      findings: [],
      counters: {} as StatusInputs['counters'],
      problemHoldS: 60,
    };
    assert.equal(buildStatus(base).health, 'ok');
    assert.deepEqual(buildStatus(base).sensors.ebpf, { state: 'off', hooks: [] });
    const blind = buildStatus({ ...base, ebpf: { state: 'running', way: 'tc', hooks } });
    assert.equal(blind.health, 'degraded');
    assert.equal(blind.headline, `Not watching everything: ${blindSpotText(hooks)}`);
    const listed = buildStatus({
      ...base,
      ebpf: {
        state: 'running',
        way: 'proc',
        hooks: hooksFromProcesses([{ pid: 3, comm: 'qosify', program: { type: 3 } }]),
      },
    });
    assert.equal(listed.health, 'ok', 'a program that is not a known proxy, found without tc, does not degrade');
  });
});
