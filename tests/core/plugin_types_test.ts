// Type-level tests, checked by `deno task check`: a plugin's kind fixes what
// its `create` returns and receives, capability tokens type `require`, and
// component keys type `getComponent`/`registerComponent`. Each
// `@ts-expect-error` line must fail to compile; if the typing were loosened,
// the directive would be unused and the check would fail. The test bodies
// also run, so the same definitions are checked at run time.
import assert from "node:assert/strict";
import {
  capability,
  componentKey,
  COMPRESSION,
  type Compressor,
  definePlugin,
  type ExtensionHost,
  HybridManager,
  ManualClock,
  type Plugin,
  type Probe,
  silentLogger,
  TRANSPORT,
  type Transport,
  TRANSPORT_CAPABILITY,
  ValidationError,
} from "../../mod.ts";
import { noneCompressor } from "../../plugins/compress-none/mod.ts";
import { builtinPlugin } from "../../plugins/builtin_plugin.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/network.ts";

const ALL = ["datacenter", "internet", "hybrid"] as const;
const compat = { core: "^0.1.0", runtimes: ["deno", "bun", "node"] } as const;
const transport = (): Transport => new MemoryNetwork({ clock: new ManualClock() }).transport("node-a");
const probe: Probe = { name: "p", measure: () => Promise.resolve({ rttMs: 1 }) };

Deno.test("plugin types: create must return the instance its kind stands for", () => {
  const compressor = definePlugin({
    id: "typed-compressor",
    version: "1.0.0",
    kind: "compressor",
    modes: ALL,
    provides: ["compressor:typed"],
    compat,
    create: () => noneCompressor(),
  });
  const typed: Plugin<"compressor", unknown, Compressor> = compressor;
  assert.equal(typed.kind, "compressor");

  definePlugin({
    id: "compressor-returning-a-transport",
    version: "1.0.0",
    kind: "compressor",
    modes: ALL,
    provides: ["compressor:wrong"],
    compat,
    // @ts-expect-error: a compressor plugin must create a Compressor, not a Transport
    create: () => transport(),
  });

  definePlugin({
    id: "transport-returning-a-compressor",
    version: "1.0.0",
    kind: "transport",
    modes: ALL,
    provides: ["transport:wrong"],
    compat,
    // @ts-expect-error: a transport plugin must create a Transport
    create: () => noneCompressor(),
  });

  definePlugin({
    id: "probe-returning-a-promise-of-a-compressor",
    version: "1.0.0",
    kind: "probe",
    modes: ALL,
    provides: ["probe:wrong"],
    compat,
    // @ts-expect-error: a probe plugin must create a Probe, also asynchronously
    create: () => Promise.resolve(noneCompressor()),
  });

  definePlugin({
    id: "consensus-returning-a-probe",
    version: "1.0.0",
    kind: "consensus",
    modes: ALL,
    provides: ["consensus:wrong"],
    compat,
    // @ts-expect-error: a consensus plugin must create a ConsensusEngine
    create: () => probe,
  });

  // @ts-expect-error: the annotation's kind and the definition's kind must agree
  const mislabelled: Plugin<"transport", unknown, Transport> = compressor;
  assert.ok(mislabelled);

  builtinPlugin({
    id: "builtin-probe-returning-a-compressor",
    kind: "probe",
    modes: ALL,
    provides: ["probe:wrong"],
    // @ts-expect-error: built-ins are held to the same contract
    create: () => noneCompressor(),
  });
});

Deno.test("plugin types: an extension gets the host, other kinds do not", () => {
  const extension = definePlugin({
    id: "typed-extension",
    version: "1.0.0",
    kind: "extension",
    modes: ALL,
    provides: ["extension:typed"],
    compat,
    create: (context) => {
      const host: ExtensionHost = context.host; // not optional
      return { nodeId: host.nodeId, close: () => {} };
    },
  });
  assert.equal(extension.kind, "extension");
  // An extension may be any object, with or without close().
  definePlugin({
    id: "bare-extension",
    version: "1.0.0",
    kind: "extension",
    modes: ALL,
    provides: ["extension:bare"],
    compat,
    create: () => ({ anything: 1 }),
  });
  definePlugin({
    id: "extension-with-a-bad-close",
    version: "1.0.0",
    kind: "extension",
    modes: ALL,
    provides: ["extension:bad"],
    compat,
    // @ts-expect-error: close, when there, is a function
    create: () => ({ close: "soon" }),
  });
  definePlugin({
    id: "compressor-reaching-for-the-host",
    version: "1.0.0",
    kind: "compressor",
    modes: ALL,
    provides: ["compressor:host"],
    compat,
    create: (context) => {
      // @ts-expect-error: only extensions are given the host
      void context.host;
      return noneCompressor();
    },
  });
});

Deno.test("plugin types: require(token) returns the token's type, and only tokens are taken", () => {
  const SETTINGS = capability<{ region: string }>("settings");
  const PROBE = capability("probe:rtt", "probe");
  assert.deepEqual(TRANSPORT_CAPABILITY, { name: "transport", kind: "transport" });
  assert.deepEqual(SETTINGS, { name: "settings" });
  definePlugin({
    id: "typed-consumer",
    version: "1.0.0",
    kind: "probe",
    modes: ALL,
    provides: ["probe:consumer"],
    requires: [TRANSPORT_CAPABILITY.name, SETTINGS.name, PROBE.name],
    compat,
    create: (context) => {
      const wire: Transport = context.require(TRANSPORT_CAPABILITY);
      const region: string = context.require(SETTINGS).region;
      const other: Probe = context.require(PROBE);
      // @ts-expect-error: the transport token yields a Transport, not a Compressor
      const wrong: Compressor = context.require(TRANSPORT_CAPABILITY);
      // @ts-expect-error: a bare string is no longer taken: name a token
      context.require("transport");
      void [wire, region, other, wrong];
      return probe;
    },
  });
});

Deno.test("plugin types: component keys type getComponent and registerComponent", async () => {
  const manager = new HybridManager({
    clock: new ManualClock(),
    logger: silentLogger,
    config: { initialMode: "datacenter" },
  });
  const LABEL = componentKey<{ label: string }>("label");
  manager.registerComponent(LABEL, { label: "v1" }, { label: "v3" });
  manager.registerComponent(COMPRESSION, noneCompressor(), noneCompressor());
  await manager.initialize();
  const label: string = manager.getComponent(LABEL).label;
  const codec: Compressor = manager.getComponent(COMPRESSION);
  assert.equal(label, "v1");
  assert.equal(codec.codec, "none");
  // @ts-expect-error: the compression component is a Compressor, not a Transport
  const notATransport: Transport = manager.getComponent(COMPRESSION);
  // @ts-expect-error: a string name gives unknown; use a key to get a type
  const untyped: Compressor = manager.getComponent("compression");
  // @ts-expect-error: the transport component only takes transports
  manager.registerComponent(TRANSPORT, noneCompressor(), noneCompressor());
  void [notATransport, untyped];
  assert.throws(() => componentKey(""), { code: "COMPONENT_INVALID" });
  await manager.close();
});

Deno.test("plugin types: the run-time checks still refuse what the types would", () => {
  assert.throws(
    () =>
      definePlugin({
        id: "no-kind",
        version: "1.0.0",
        // @ts-expect-error: not a kind
        kind: "codec",
        modes: ALL,
        provides: ["x"],
        compat,
        create: () => ({}),
      }),
    (error: unknown) => error instanceof ValidationError && error.issues.some((issue) => issue.path === "kind"),
  );
});
