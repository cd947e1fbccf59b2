// Longest suites first, also on a machine that has never run them. Jest's own order uses the
// durations it cached on an earlier run, and without them (a clean clone on a new machine: CI)
// orders by file size, which started long suites last and left one worker running them alone
// at the end. suite-seconds.json holds the suites of ten seconds or more, as a CI run measured
// them; a cached duration, when there is one, wins. Suites that failed last time still go first.
const Sequencer = require("@jest/test-sequencer").default;
const { relative } = require("node:path");
const measured = require("./suite-seconds.json");

class LongestFirst extends Sequencer {
  sort(tests) {
    const seconds = (test) => {
      const cached = this.time(test);
      if (cached !== undefined) return cached / 1000;
      return measured[relative(test.context.config.rootDir, test.path).split("\\").join("/")] ?? 0;
    };
    return [...tests].sort((a, b) => Number(this.hasFailed(b)) - Number(this.hasFailed(a)) || seconds(b) - seconds(a));
  }
}

module.exports = LongestFirst;
