// The Settings page's own checks, run without a browser: settings.js is evaluated with
// stand-ins for LuCI's view/form/ui modules that only record each option's validate
// function. The page must refuse what the daemon refuses (the settings-to-root attack:
// shell syntax as an interface name, a state directory outside /var/run).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { parseConfigText } from '../../src/config/config-text';

const SETTINGS = join(
  __dirname,
  '..',
  '..',
  'luci-app',
  'htdocs',
  'luci-static',
  'resources',
  'view',
  'replyguard',
  'settings.js',
);

type Validate = (sectionId: string, value: string) => true | string;

/** option name → validate, from the page's render(). */
function validators(): Map<string, Validate> {
  const found = new Map<string, Validate>();
  const option = (name: string) => {
    const o: Record<string, unknown> = { value() {} };
    return new Proxy(o, {
      set(target, key, value) {
        target[key as string] = value;
        if (key === 'validate') found.set(name, value as Validate);
        return true;
      },
    });
  };
  const section = {
    tab() {},
    taboption: (_tab: string, _cls: unknown, name: string) => option(name),
    option: (_cls: unknown, name: string) => option(name),
  };
  class FormMap {
    section() {
      return section;
    }
    render() {
      return null;
    }
  }
  const form = {
    Map: FormMap,
    NamedSection: {},
    TableSection: { prototype: {} },
    Value: {},
    DynamicList: {},
    Flag: {},
    ListValue: {},
  };
  const view = { extend: (o: { render(): unknown }) => o };
  const tr = (s: string) => s;
  const src = readFileSync(SETTINGS, 'utf8');
  const page = runInNewContext(`(function(view, form, ui, _, E) {\n${src}\n})`, {}) as (...a: unknown[]) => {
    render(): unknown;
  };
  page(view, form, {}, tr, () => null).render();
  return found;
}

describe('Settings page validation (settings.js)', () => {
  const v = validators();

  it('finds the validators of lan_interfaces and state_dir', () => {
    assert.ok(v.has('lan_interfaces') && v.has('state_dir'), [...v.keys()].join(' '));
  });

  it('refuses the settings-to-root values, as the daemon does', () => {
    for (const name of ['$(id>pwned)', '`id>pwned`', 'a;b', 'x y', '-x', '.', 'abcdefghijklmnop'])
      assert.notEqual(v.get('lan_interfaces')!('main', name), true, name);
    for (const dir of ['/etc/hotplug.d/iface', '/etc/uci-defaults', '/var/run/../../etc', '/var/run/a/b', '/tmp/x'])
      assert.notEqual(v.get('state_dir')!('main', dir), true, dir);
  });

  it('accepts what OpenWrt names and where runtime state goes, and the daemon accepts the same', () => {
    for (const name of ['br-lan', 'eth0.2', 'wlan0-1', 'phy0-ap0', 'pppoe-wan', 'lan_1']) {
      assert.equal(v.get('lan_interfaces')!('main', name), true, name);
      assert.deepEqual(
        parseConfigText(`config main 'main'\n\tlist lan_interfaces '${name}'\n`, 'x').main.lanInterfaces,
        [name],
      );
    }
    for (const dir of ['/var/run/replyguard', '/tmp/run/replyguard']) {
      assert.equal(v.get('state_dir')!('main', dir), true, dir);
      assert.equal(parseConfigText(`config main 'main'\n\toption state_dir '${dir}'\n`, 'x').main.stateDir, dir);
    }
  });
});
