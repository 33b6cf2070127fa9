// The small part of LuCI's client API (luci.js, form.js, fs.js, rpc.js, ui.js,
// uci.js) that luci-app-replyguard's views use, for loading them in a browser
// without a router. It follows LuCI's semantics where the views depend on them:
// views are function bodies compiled with their 'require' names as parameters,
// `_()` looks translations up by the sfh hash of the trimmed msgid in window.TR
// (as LuCI serves the .lmo catalog), and a form option is written to UCI only
// when its value differs from the stored one (Flags: removed when equal to the
// default), so saved changes match what LuCI would save.
//
// Test input comes from window.__harness = { fs, uci, rpc, TR } (set before load);
// what the page did is left in window.__uciChanges, __execCalls, __notifications.

(() => {
  const H = window.__harness || {};
  window.TR = H.TR || null;
  window.__uciChanges = [];
  window.__execCalls = [];
  window.__notifications = [];
  window.__polls = [];

  // ---- strings ---------------------------------------------------------------

  /** sfh_hash(s, len, len) over UTF-8, as cbi.js / lmo.c compute it; 8 hex digits. */
  function sfh(s) {
    const bytes = Array.from(new TextEncoder().encode(s));
    if (bytes.length === 0) return null;
    const u16 = (o) => ((bytes[o + 1] << 8) + bytes[o]) >>> 0;
    const s8 = (o) => (bytes[o] > 0x7f ? bytes[o] - 256 : bytes[o]);
    let hash = bytes.length >>> 0;
    let len = bytes.length >>> 2;
    let off = 0;
    while (len--) {
      hash = (hash + u16(off)) >>> 0;
      const tmp = ((u16(off + 2) << 11) ^ hash) >>> 0;
      hash = ((hash << 16) ^ tmp) >>> 0;
      hash = (hash + (hash >>> 11)) >>> 0;
      off += 4;
    }
    switch (bytes.length & 3) {
      case 3:
        hash = (hash + u16(off)) >>> 0;
        hash = (hash ^ (hash << 16)) >>> 0;
        hash = (hash ^ (s8(off + 2) << 18)) >>> 0;
        hash = (hash + (hash >>> 11)) >>> 0;
        break;
      case 2:
        hash = (hash + u16(off)) >>> 0;
        hash = (hash ^ (hash << 11)) >>> 0;
        hash = (hash + (hash >>> 17)) >>> 0;
        break;
      case 1:
        hash = (hash + s8(off)) >>> 0;
        hash = (hash ^ (hash << 10)) >>> 0;
        hash = (hash + (hash >>> 1)) >>> 0;
        break;
    }
    hash = (hash ^ (hash << 3)) >>> 0;
    hash = (hash + (hash >>> 5)) >>> 0;
    hash = (hash ^ (hash << 4)) >>> 0;
    hash = (hash + (hash >>> 17)) >>> 0;
    hash = (hash ^ (hash << 25)) >>> 0;
    hash = (hash + (hash >>> 6)) >>> 0;
    return (0x100000000 + hash).toString(16).slice(1);
  }
  window.__sfh = sfh;

  const trimws = (s) =>
    String(s)
      .trim()
      .replace(/[ \t\n]+/g, ' ');
  window._ = (s, c) => {
    const k = (c != null ? `${trimws(c)}\u0001` : '') + trimws(s);
    return window.TR?.[sfh(k)] || s;
  };

  /** String.prototype.format with the conversions the views use: %s %d %h %%. */
  Object.defineProperty(String.prototype, 'format', {
    configurable: true,
    writable: true,
    value: function format(...args) {
      let i = 0;
      return String(this).replace(/%([sdh%])/g, (_m, c) => {
        if (c === '%') return '%';
        const v = args[i++];
        if (c === 'd') return String(Math.floor(+v || 0));
        if (c === 'h') return String(v ?? '').replace(/[&"'<>]/g, (ch) => `&#${ch.charCodeAt(0)};`);
        return v == null ? '' : String(v);
      });
    },
  });

  // ---- DOM helpers (L.dom, E) ------------------------------------------------------

  function appendChildren(node, children) {
    if (children == null) return node;
    // As LuCI's dom.append: a lone string child is markup (innerHTML); strings inside an array are text.
    if (typeof children === 'string') {
      node.innerHTML = children;
      return node;
    }
    const list = Array.isArray(children) ? children : [children];
    for (const c of list) {
      if (c == null || c === false) continue;
      if (Array.isArray(c)) appendChildren(node, c);
      else if (c instanceof Node) node.appendChild(c);
      else node.appendChild(document.createTextNode(String(c)));
    }
    return node;
  }

  function E(tag, attrs, children) {
    if (Array.isArray(tag)) return appendChildren(document.createDocumentFragment(), tag);
    const node = document.createElement(tag);
    let kids = children;
    if (attrs != null && (typeof attrs !== 'object' || Array.isArray(attrs) || attrs instanceof Node)) {
      kids = attrs;
    } else if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (typeof v === 'function') node.addEventListener(k, v);
        else node.setAttribute(k, v === true ? '' : String(v));
      }
    }
    return appendChildren(node, kids);
  }
  window.E = E;

  const dom = {
    content(node, children) {
      while (node.firstChild) node.removeChild(node.firstChild);
      return appendChildren(node, children);
    },
    append: appendChildren,
    parent(node, selector) {
      return node?.parentNode?.closest ? node.parentNode.closest(selector) : null;
    },
    bindClassInstance(node, inst) {
      node.__instance = inst;
    },
    findClassInstance(node) {
      let n = node;
      while (n && !n.__instance) n = n.parentNode;
      return n ? n.__instance : null;
    },
    callClassMethod(node, method, ...args) {
      const inst = dom.findClassInstance(node);
      return inst ? inst[method](...args) : null;
    },
  };

  // ---- L ---------------------------------------------------------------------

  function extend(base, proto) {
    function Class(...args) {
      if (this.__init__) this.__init__(...args);
    }
    Class.prototype = Object.create(base.prototype);
    Object.assign(Class.prototype, proto, { constructor: Class });
    Class.prototype.super = function (name, args) {
      return base.prototype[name].apply(this, args || []);
    };
    Class.extend = (p) => extend(Class, p);
    Class.prototype.__base__ = base;
    return Class;
  }
  function BaseClass() {}
  BaseClass.extend = (p) => extend(BaseClass, p);

  const L = {
    env: { sessionid: 'harness' },
    Class: BaseClass,
    dom,
    resolveDefault(value, def) {
      return Promise.resolve(value).catch(() => def);
    },
    bind(fn, self, ...args) {
      return fn.bind(self, ...args);
    },
    isObject(v) {
      return v != null && typeof v === 'object';
    },
    toArray(v) {
      if (v == null) return [];
      return Array.isArray(v) ? v : String(v).split(/\s+/).filter(Boolean);
    },
    error(type, msg) {
      throw new Error(`${type}: ${msg}`);
    },
  };
  window.L = L;

  // ---- ui ------------------------------------------------------------------------

  const ui = {
    addNotification(title, children, ...classes) {
      const node = E('div', { class: `alert-message ${classes.join(' ')}` }, [title ? E('h4', title) : '', children]);
      document.getElementById('notifications').appendChild(node);
      window.__notifications.push({ type: classes.join(' '), text: node.textContent });
      return node;
    },
    createHandlerFn(ctx, fn, ...args) {
      const f = typeof fn === 'string' ? ctx[fn] : fn;
      return (ev) => Promise.resolve(f.apply(ctx, [...args, ev]));
    },
    changes: {
      apply() {
        window.__applied = true;
      },
    },
  };
  L.ui = ui;

  // ---- fs, rpc, poll -------------------------------------------------------------

  const files = H.fs || {};
  const fs = {
    read(path) {
      if (Object.hasOwn(files, path)) return Promise.resolve(files[path]);
      return Promise.reject(new Error(`PermissionError or not found: ${path}`));
    },
    exec(command, params) {
      window.__execCalls.push([command, ...(params || [])]);
      return Promise.resolve({ code: 0, stdout: '', stderr: '' });
    },
  };
  window.__setFile = (path, text) => {
    files[path] = text;
  };

  const rpc = {
    declare(opts) {
      return (...args) => {
        const key = `${opts.object}.${opts.method}`;
        const reply = H.rpc?.[key];
        if (reply === undefined) return Promise.reject(new Error(`no rpc ${key}`));
        return Promise.resolve(typeof reply === 'function' ? reply(...args) : reply);
      };
    },
  };

  const poll = {
    add(fn, interval) {
      window.__polls.push({ fn, interval });
    },
  };
  window.__pollTick = () => Promise.all(window.__polls.map((p) => p.fn()));

  // ---- uci (the Map's data) --------------------------------------------------------

  const uciData = H.uci || {};
  const uci = {
    get(conf, sid, opt) {
      const s = uciData[conf]?.[sid];
      if (s == null) return null;
      return opt == null ? s : (s[opt] ?? null);
    },
    set(conf, sid, opt, value) {
      const s = uciData[conf]?.[sid];
      if (!s) return;
      const same = JSON.stringify(s[opt]) === JSON.stringify(value);
      if (!same) {
        s[opt] = value;
        window.__uciChanges.push(['set', sid, opt, value]);
      }
    },
    unset(conf, sid, opt) {
      const s = uciData[conf]?.[sid];
      if (s && s[opt] != null) {
        delete s[opt];
        window.__uciChanges.push(['unset', sid, opt]);
      }
    },
    add(conf, type, name) {
      uciData[conf] = uciData[conf] || {};
      uciData[conf][name] = { '.type': type, '.name': name };
      window.__uciChanges.push(['add', type, name]);
      return name;
    },
    remove(conf, sid) {
      delete uciData[conf]?.[sid];
      window.__uciChanges.push(['remove', sid]);
    },
    sections(conf, type) {
      return Object.values(uciData[conf] || {}).filter((s) => type == null || s['.type'] === type);
    },
  };
  window.__uciData = uciData;

  // ---- form ------------------------------------------------------------------------

  const isEqual = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

  const AbstractValue = BaseClass.extend({
    __init__(section, option, title, description) {
      this.section = section;
      this.map = section.map;
      this.option = option;
      this.title = title;
      this.description = description;
      this.rmempty = true;
      this.optional = false;
      this.default = null;
      this.keylist = [];
      this.vallist = [];
    },
    value(key, label) {
      this.keylist.push(String(key));
      this.vallist.push(label ?? key);
    },
    cbid(sid) {
      return `cbid.${this.map.config}.${sid}.${this.option}`;
    },
    cfgvalue(sid) {
      return uci.get(this.map.config, sid, this.option);
    },
    validate() {
      return true;
    },
    widget(sid) {
      const v = this.cfgvalue(sid) ?? this.default ?? '';
      return E('input', {
        type: this.password ? 'password' : 'text',
        class: 'cbi-input-text',
        id: this.cbid(sid),
        value: Array.isArray(v) ? v.join(' ') : v,
        placeholder: this.placeholder || null,
      });
    },
    formvalue(sid) {
      const el = document.getElementById(this.cbid(sid));
      return el ? el.value : null;
    },
    checkValid(sid) {
      const fval = this.formvalue(sid);
      const items = Array.isArray(fval) ? fval : [fval];
      if (
        (fval == null || fval === '' || (Array.isArray(fval) && fval.length === 0)) &&
        !this.rmempty &&
        !this.optional
      )
        return _('Expecting: %s').format(_('non-empty value'));
      for (const item of items) {
        const r = this.validate(sid, item);
        if (r !== true) return r;
      }
      return true;
    },
    parse(sid) {
      const cval = this.cfgvalue(sid);
      const fval = this.formvalue(sid);
      if (fval != null && fval !== '' && !(Array.isArray(fval) && fval.length === 0)) {
        if (!isEqual(cval, fval)) uci.set(this.map.config, sid, this.option, fval);
      } else if (this.rmempty || this.optional) {
        uci.unset(this.map.config, sid, this.option);
      }
    },
  });

  const Value = AbstractValue.extend({});
  const ListValue = AbstractValue.extend({
    widget(sid) {
      const v = this.cfgvalue(sid) ?? this.default ?? '';
      return E(
        'select',
        { class: 'cbi-input-select', id: this.cbid(sid) },
        this.keylist.map((k, i) => E('option', { value: k, selected: k === v ? '' : null }, [this.vallist[i]])),
      );
    },
  });
  const Flag = AbstractValue.extend({
    __init__(...args) {
      AbstractValue.prototype.__init__.apply(this, args);
      this.enabled = '1';
      this.disabled = '0';
      this.default = this.disabled;
    },
    widget(sid) {
      const v = this.cfgvalue(sid) ?? this.default;
      return E('input', {
        type: 'checkbox',
        class: 'cbi-input-checkbox',
        id: this.cbid(sid),
        checked: v === this.enabled ? '' : null,
      });
    },
    formvalue(sid) {
      const el = document.getElementById(this.cbid(sid));
      return el?.checked ? this.enabled : this.disabled;
    },
    parse(sid) {
      const fval = this.formvalue(sid);
      if (fval === this.default && (this.optional || this.rmempty)) uci.unset(this.map.config, sid, this.option);
      else uci.set(this.map.config, sid, this.option, fval);
    },
  });
  const DynamicList = AbstractValue.extend({
    formvalue(sid) {
      const el = document.getElementById(this.cbid(sid));
      return el ? el.value.split(/[\s]+/).filter(Boolean) : null;
    },
    cfgvalue(sid) {
      const v = uci.get(this.map.config, sid, this.option);
      return v == null ? null : L.toArray(v);
    },
  });

  function optionRow(o, sid) {
    return E('div', { class: 'cbi-value', 'data-field': o.cbid(sid) }, [
      E('label', { class: 'cbi-value-title', for: o.cbid(sid) }, [o.title || o.option]),
      E('div', { class: 'cbi-value-field' }, [
        o.widget(sid),
        o.description ? E('div', { class: 'cbi-value-description' }, [o.description]) : '',
      ]),
    ]);
  }

  const AbstractSection = BaseClass.extend({
    __init__(map, sectiontype, title, description) {
      this.map = map;
      this.sectiontype = sectiontype;
      this.title = title;
      this.description = description;
      this.children = [];
      this.tabs = null;
    },
    option(cls, ...args) {
      const o = new cls(this, ...args);
      this.children.push(o);
      return o;
    },
    tab(name, title) {
      this.tabs = this.tabs || [];
      this.tabs.push({ name, title });
    },
    taboption(tab, cls, ...args) {
      const o = this.option(cls, ...args);
      o.tab = tab;
      return o;
    },
    formvalue(sid, option) {
      const o = this.children.find((c) => c.option === option);
      return o ? o.formvalue(sid) : null;
    },
    cfgsections() {
      return uci.sections(this.map.config, this.sectiontype).map((s) => s['.name']);
    },
    renderOptions(sid) {
      if (!this.tabs) return this.children.map((o) => optionRow(o, sid));
      return this.tabs.map((t) =>
        E('div', { class: 'cbi-tab', 'data-tab': t.name, 'data-tab-title': t.title }, [
          E('h4', { class: 'cbi-tab-title' }, [t.title]),
          this.children.filter((o) => o.tab === t.name).map((o) => optionRow(o, sid)),
        ]),
      );
    },
    handleAdd(_ev, name) {
      uci.add(this.map.config, this.sectiontype, name);
      return this.map.save(null, true);
    },
    handleRemove(sid) {
      uci.remove(this.map.config, sid);
      return this.map.save(null, true);
    },
    renderSectionAdd() {
      if (!this.addremove) return E([]);
      const nameEl = E('input', { type: 'text', class: 'cbi-section-create-name' });
      nameEl.addEventListener('keyup', () => {
        nameEl.classList.toggle('cbi-input-invalid', nameEl.value !== '' && !/^[A-Za-z0-9_]+$/.test(nameEl.value));
      });
      return E('div', { class: 'cbi-section-create' }, [
        nameEl,
        E(
          'button',
          {
            class: 'cbi-button cbi-button-add',
            click: ui.createHandlerFn(this, function (ev) {
              if (nameEl.classList.contains('cbi-input-invalid')) return;
              return this.handleAdd(ev, nameEl.value);
            }),
          },
          [this.addbtntitle || _('Add')],
        ),
      ]);
    },
  });

  const NamedSection = AbstractSection.extend({
    __init__(map, sid, sectiontype, title, description) {
      AbstractSection.prototype.__init__.call(this, map, sectiontype, title, description);
      this.section = sid;
    },
    cfgsections() {
      return uci.get(this.map.config, this.section) ? [this.section] : [];
    },
    render() {
      const sid = this.section;
      if (!uci.get(this.map.config, sid)) return E([]);
      return E('div', { class: 'cbi-section', id: `cbi-${this.map.config}-${sid}`, 'data-tab-title': this.title }, [
        E('h3', [this.title || sid]),
        this.description ? E('div', { class: 'cbi-section-descr' }, [this.description]) : '',
        E('div', { class: 'cbi-section-node' }, this.renderOptions(sid)),
      ]);
    },
  });

  const TypedSection = AbstractSection.extend({
    render() {
      return E('div', { class: 'cbi-section', id: `cbi-${this.map.config}-${this.sectiontype}` }, [
        E('h3', [this.title]),
        this.cfgsections().map((sid) =>
          E('div', { class: 'cbi-section-node', id: `cbi-${this.map.config}-${sid}` }, this.renderOptions(sid)),
        ),
        this.renderSectionAdd(),
      ]);
    },
  });

  const TableSection = TypedSection.extend({
    tab() {
      throw new Error('Tabs are not supported by TableSection');
    },
    render() {
      const head = E('tr', { class: 'tr cbi-section-table-titles' }, [
        E('th', { class: 'th' }, [this.anonymous ? '' : _('Name')]),
        this.children.map((o) => E('th', { class: 'th', 'data-option': o.option }, [o.title || o.option])),
        E('th', { class: 'th cbi-section-actions' }, ['']),
      ]);
      const rows = this.cfgsections().map((sid) =>
        E('tr', { class: 'tr cbi-section-table-row', id: `cbi-${this.map.config}-${sid}`, 'data-sid': sid }, [
          E('td', { class: 'td cbi-section-table-titles' }, [this.anonymous ? '' : sid]),
          this.children.map((o) =>
            E('td', { class: 'td cbi-value-field', 'data-field': o.cbid(sid), 'data-title': o.title }, [o.widget(sid)]),
          ),
          E('td', { class: 'td cbi-section-actions' }, [
            this.addremove
              ? E(
                  'button',
                  { class: 'cbi-button cbi-button-remove', click: ui.createHandlerFn(this, 'handleRemove', sid) },
                  [_('Delete')],
                )
              : '',
          ]),
        ]),
      );
      return E(
        'div',
        {
          class: 'cbi-section cbi-tblsection',
          id: `cbi-${this.map.config}-${this.sectiontype}`,
          'data-tab-title': this.title,
        },
        [
          E('h3', [this.title]),
          this.description ? E('div', { class: 'cbi-section-descr' }, [this.description]) : '',
          E('table', { class: 'table cbi-section-table' }, [head, rows]),
          this.renderSectionAdd(),
        ],
      );
    },
  });

  const CBIMap = BaseClass.extend({
    __init__(config, title, description) {
      this.config = config;
      this.title = title;
      this.description = description;
      this.children = [];
      this.data = uci;
    },
    section(cls, ...args) {
      const s = new cls(this, ...args);
      this.children.push(s);
      return s;
    },
    renderContents() {
      const node = E('div', { class: 'cbi-map', id: `cbi-${this.config}` }, [
        this.title ? E('h2', [this.title]) : '',
        this.description ? E('div', { class: 'cbi-map-descr' }, [this.description]) : '',
        this.children.map((s) => s.render()),
      ]);
      dom.bindClassInstance(node, this);
      this.node = node;
      return node;
    },
    render() {
      return Promise.resolve(this.renderContents());
    },
    save(_cb, silent) {
      const errors = [];
      for (const s of this.children)
        for (const sid of s.cfgsections())
          for (const o of s.children) {
            if (!document.getElementById(o.cbid(sid))) continue;
            const r = o.checkValid(sid);
            if (r !== true) errors.push(`${sid}.${o.option}: ${r}`);
          }
      if (errors.length > 0) {
        if (!silent) ui.addNotification(null, E('p', [errors.join('; ')]), 'danger');
        window.__saveErrors = errors;
        return Promise.reject(new Error(errors.join('; ')));
      }
      for (const s of this.children)
        for (const sid of s.cfgsections())
          for (const o of s.children) if (document.getElementById(o.cbid(sid))) o.parse(sid);
      const old = this.node;
      const fresh = this.renderContents();
      if (old?.parentNode) old.parentNode.replaceChild(fresh, old);
      return Promise.resolve();
    },
  });

  const form = {
    Map: CBIMap,
    NamedSection,
    TypedSection,
    TableSection,
    GridSection: TableSection,
    Value,
    ListValue,
    Flag,
    DynamicList,
  };

  // ---- view ---------------------------------------------------------------------------

  const view = {
    extend(proto) {
      return extend(BaseClass, {
        load() {
          return Promise.resolve();
        },
        render() {
          return E([]);
        },
        handleSave() {
          return Promise.all(
            Array.from(document.querySelectorAll('.cbi-map')).map((m) => dom.callClassMethod(m, 'save')),
          );
        },
        handleSaveApply(ev) {
          return this.handleSave(ev).then(() => ui.changes.apply());
        },
        handleReset() {
          window.location.reload();
        },
        ...proto,
      });
    },
  };

  const modules = { view, form, fs, rpc, poll, ui, uci, dom };

  /** Loads view/<name>.js the way LuCI does: 'require x [as y]' lines become parameters. */
  async function loadView(name) {
    const src = await (await fetch(`/luci-static/resources/view/${name}.js`)).text();
    const names = [];
    const values = [];
    for (const m of src.matchAll(/^\s*'require\s+(\S+?)(?:\s+as\s+(\S+))?'\s*;/gm)) {
      const mod = modules[m[1]];
      if (!mod) throw new Error(`view requires '${m[1]}', which this harness does not provide`);
      names.push(m[2] || m[1]);
      values.push(mod);
    }
    const factory = new Function(...names, `${src}\n//# sourceURL=view/${name}.js`);
    return factory(...values);
  }

  async function start() {
    const params = new URLSearchParams(window.location.search);
    try {
      const View = await loadView(params.get('view'));
      const v = new View();
      const data = await v.load();
      const node = await v.render(data);
      const footer = E('div', { class: 'cbi-page-actions' }, [
        v.handleSaveApply
          ? E(
              'button',
              {
                class: 'cbi-button cbi-button-apply',
                id: 'save-apply',
                click: ui.createHandlerFn(v, 'handleSaveApply'),
              },
              [_('Save & Apply')],
            )
          : '',
        v.handleSave
          ? E(
              'button',
              { class: 'cbi-button cbi-button-save', id: 'save', click: ui.createHandlerFn(v, 'handleSave') },
              [_('Save')],
            )
          : '',
        v.handleReset
          ? E(
              'button',
              { class: 'cbi-button cbi-button-reset', id: 'reset', click: ui.createHandlerFn(v, 'handleReset') },
              [_('Reset')],
            )
          : '',
      ]);
      dom.content(document.getElementById('view'), [node, footer]);
      window.__view = v;
      window.__ready = true;
    } catch (err) {
      window.__error = String(err?.stack || err);
      document.getElementById('view').textContent = window.__error;
    }
  }

  window.LuciHarness = { start };
})();
