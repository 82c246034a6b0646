/**
 * The Node flags every palmswitch service process runs with (hsm-sim, network-sim, the gateway,
 * and the benchmark process that hosts a network link).
 *
 * `--single-threaded-gc`: on the 2-core machines the switch targets, every core is already
 * busy with the event loops and the extraction workers, so V8's parallel scavenger waits for
 * helper threads that get no CPU. Measured on the network bench at a paced 5,000/s: the link's
 * longest GC pause fell from 5-10 ms to under 2 ms, and the round-trip p99 of six runs from
 * 3.8-29.7 ms (median 7 ms) to 3.2-5.5 ms (median 4.3 ms).
 *
 * `--initial-old-space-size=128` (MB, per isolate: the main thread and every worker): V8 starts
 * with an old-generation limit a little above the live heap and keeps it there, so a payment's
 * few MB of short-lived images, tensors and candidate lists set off a full mark-compact (~25-35 ms
 * of marking and pause on these VMs) every ~7 payments in an extraction worker, although the
 * live heap stays at ~20 MB. Starting the limit at 128 MB left 5 mark-compacts in 200 hand
 * payments instead of 27-33 (single-thread harness: extract, probe and search at 100,000 palms,
 * CPU per payment 44.9 / 46.0 -> 40.8 / 38.1 ms). In three back-to-back pairs of short e2e
 * runs the gateway's CPU per hand payment fell from 61.8 / 69.6 / 52.0 to 49.1 / 48.4 / 42.3 ms
 * (event loop: 15.0 / 17.4 / 11.6 -> 10.8 / 10.4 / 8.8 ms; the first two pairs ran beside
 * other work, the third on a quieter machine). The price: the gateway's peak resident memory
 * grew from 1,077 to 1,192 MiB in the third pair (100,320 palms).
 */
export const service_node_flags: readonly string[] = ['--single-threaded-gc', '--initial-old-space-size=128'];

/**
 * glibc malloc settings every service process starts with (read by glibc at process start, so
 * they travel as environment; other C libraries ignore them). On the VMs the switch is measured
 * on, a page touched for the first time costs ~18 µs (a 321 KB buffer allocated and filled:
 * ~1.6 ms, 80 page faults), and by default glibc hands blocks over 128 KB straight back to the
 * kernel when freed, so every capture-sized buffer faults its pages in again. Keeping freed
 * memory in the process (a higher mmap threshold, trimming only above 1 GiB) made the gateway's
 * CPU per hand payment 4.0 and 4.6 ms lower in two back-to-back pairs of e2e runs (47.6 -> 43.7,
 * 51.8 -> 47.2 ms). The price: a process's resident memory stays at its peak instead of shrinking.
 */
export const service_environment: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(64 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(1024 * 1024 * 1024),
  MALLOC_TOP_PAD_: String(64 * 1024 * 1024),
};
