// scripts/supervisor.mjs is ESM, which jest cannot load: the tests run it here, in a process
// of its own, over real child processes. argv[2] is JSON, { backoff, services: [{ name,
// commands }] }: a service's n-th start runs commands[n - 1], the last one once they run out,
// so a test can make a child crash a few times and then stay up.
// Prints every line the supervisor says and `spawned <name> <n> <pid>` at each start, on
// stdout; on SIGTERM stops everything as npm start does on Ctrl-C, prints `stopped`, exits 0.
import { spawn } from "node:child_process";
import { createSupervisor } from "../../scripts/supervisor.mjs";

const { backoff, services } = JSON.parse(process.argv[2]);
const say = (line) => process.stdout.write(`${line}\n`);
const supervisor = createSupervisor({ backoff, output: { log: say, error: say } });

for (const { name, commands } of services) {
  let starts = 0;
  supervisor.supervise(name, () => {
    starts += 1;
    const [command, ...args] = commands[Math.min(starts, commands.length) - 1];
    const child = spawn(command, args, { stdio: "ignore" });
    say(`spawned ${name} ${starts} ${child.pid}`);
    return child;
  });
}

process.on("SIGTERM", () =>
  void supervisor.stop().then(() => {
    say("stopped");
    process.exit(0);
  }),
);
