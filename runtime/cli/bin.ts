/**
 * The npm package's `switchyard` command (Node has no `import.meta.main`):
 * runs the CLI on the process's arguments.
 *
 * @module
 */
import process from "node:process";
import { runCli } from "./main.ts";

await runCli(process.argv.slice(2));
