/**
 * gateway/dashboard: the operator, merchant and finance console — terminal simulator,
 * operations and finance pages — as a Hono app the gateway server mounts at `/dashboard`.
 * The composition root supplies the `TerminalSimulator` (see simulator.ts for its contract).
 */
export {
  createDashboard, form_bytes_max, recent_payments_listed_max, terminals_listed_max, recon_runs_shown_max,
  login_failures_per_window_max, login_failure_window_ms, admin_key_chars_min, type DashboardDeps,
} from './app.js';
export {
  SIMULATED_ATTACKS, attack_labels, type SimulatedAttack, type SimulatedShopper, type SimulatedPaymentRequest, type SimulatorOutcome, type TerminalSimulator,
} from './simulator.js';
export { session_lifetime_ms } from './session.js';
