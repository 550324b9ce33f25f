/**
 * Starts a 3-node etcd cluster (Debian's `etcd-server`) on free loopback
 * ports with default durability (the WAL is fsynced before a write is
 * acknowledged), for the consensus benchmark's baseline.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../examples/kv/cluster.ts";

/** A running etcd cluster. */
export interface EtcdCluster {
  /** Client URL of the current leader. */
  leaderUrl(): Promise<string>;
  /** Stops every member and removes the data. */
  stop(): Promise<void>;
}

/** True when the `etcd` binary is installed. */
export async function etcdInstalled(): Promise<boolean> {
  return await new Promise((resolve) => {
    const child = spawn("etcd", ["--version"], { stdio: "ignore" });
    child.on("error", () => resolve(false));
    child.on("exit", (code) => resolve(code === 0));
  });
}

/** Starts `size` members and waits for a leader. */
export async function startEtcd(size = 3): Promise<EtcdCluster> {
  const root = await mkdtemp(join(tmpdir(), "switchyard-etcd-"));
  const members: { name: string; client: string; peer: string }[] = [];
  for (let i = 1; i <= size; i++) {
    members.push({
      name: `e${i}`,
      client: `http://127.0.0.1:${await freePort()}`,
      peer: `http://127.0.0.1:${await freePort()}`,
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peer}`).join(",");
  const processes: ChildProcess[] = members.map((member) =>
    spawn("etcd", [
      "--name",
      member.name,
      "--data-dir",
      join(root, member.name),
      "--listen-client-urls",
      member.client,
      "--advertise-client-urls",
      member.client,
      "--listen-peer-urls",
      member.peer,
      "--initial-advertise-peer-urls",
      member.peer,
      "--initial-cluster",
      initialCluster,
      "--initial-cluster-state",
      "new",
      "--log-level",
      "error",
    ], { stdio: "ignore" })
  );
  const leaderUrl = async () => {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      for (const member of members) {
        const status = await fetch(`${member.client}/v3/maintenance/status`, { method: "POST", body: "{}" })
          .then((response) => response.json()).catch(() => undefined);
        if (status?.leader && status.leader === status.header?.member_id) return member.client;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error("etcd elected no leader within 15 s");
  };
  await leaderUrl();
  return {
    leaderUrl,
    async stop() {
      await Promise.all(processes.map((child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null) return resolve(undefined);
          child.once("exit", resolve);
          child.kill("SIGKILL");
        })
      ));
      await rm(root, { recursive: true, force: true });
    },
  };
}
