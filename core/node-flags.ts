/**
 * The Node flags every palmswitch service process runs with (hsm-sim, network-sim, the gateway,
 * and the benchmark process that hosts a network link).
 *
 * `--single-threaded-gc`: on the 2-core machines the switch targets, every core is already
 * busy with the event loops and the extraction workers, so V8's parallel scavenger waits for
 * helper threads that get no CPU. Measured on the network bench at a paced 5,000/s: the link's
 * longest GC pause fell from 5-10 ms to under 2 ms, and the round-trip p99 of six runs from
 * 3.8-29.7 ms (median 7 ms) to 3.2-5.5 ms (median 4.3 ms).
 */
export const service_node_flags: readonly string[] = ['--single-threaded-gc'];
