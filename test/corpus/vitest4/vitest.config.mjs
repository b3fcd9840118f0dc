// No per-test "slow" lines: they depend on the machine's load, and the corpus
// compares plain and recorded output.
export default { test: { include: ['test/**/*.test.ts'], pool: 'forks', slowTestThreshold: 3_600_000 } };
