//! Names of the rule-snapshot variables, as constants shared by producers and the catalog.
//!
//! Producers publish under these names and [`crate::CATALOG`] documents them, so a
//! typo is a compile error rather than a rule that silently never fires.

/// Host CPU usage over the last collect interval, all cores, 0–100.
pub const CPU_PERCENT: &str = "cpu_percent";
/// Host memory in use (total − available) as a share of total, 0–100.
pub const MEMORY_PERCENT: &str = "memory_percent";
/// Host memory in use (total − available), bytes.
pub const MEMORY_USED_BYTES: &str = "memory_used_bytes";
/// Host memory available to new work without swapping, bytes.
pub const MEMORY_AVAILABLE_BYTES: &str = "memory_available_bytes";
/// Host physical memory, bytes.
pub const MEMORY_TOTAL_BYTES: &str = "memory_total_bytes";
/// Host swap in use as a share of swap size, 0–100 (0 without swap).
pub const SWAP_PERCENT: &str = "swap_percent";
/// Used space of the watched filesystem, 0–100.
pub const DISK_PERCENT: &str = "disk_percent";
/// Space available to unprivileged users on the watched filesystem, bytes.
pub const DISK_FREE_BYTES: &str = "disk_free_bytes";
/// Size of the watched filesystem, bytes.
pub const DISK_TOTAL_BYTES: &str = "disk_total_bytes";
/// Host load average over 1 minute.
pub const LOAD_AVERAGE_1M: &str = "load_average_1m";
/// Host load average over 5 minutes.
pub const LOAD_AVERAGE_5M: &str = "load_average_5m";
/// Host load average over 15 minutes.
pub const LOAD_AVERAGE_15M: &str = "load_average_15m";
/// Bytes received per second on all non-loopback interfaces.
pub const NETWORK_RX_BYTES_PER_SECOND: &str = "network_rx_bytes_per_second";
/// Bytes sent per second on all non-loopback interfaces.
pub const NETWORK_TX_BYTES_PER_SECOND: &str = "network_tx_bytes_per_second";
/// CPU used by the mon process itself, as a share of the whole machine, 0–100.
pub const PROCESS_CPU_PERCENT: &str = "process_cpu_percent";
/// Resident memory of the mon process itself, bytes.
pub const PROCESS_RESIDENT_MEMORY_BYTES: &str = "process_resident_memory_bytes";

/// Share of checks whose last status is healthy, 0–100.
pub const HEALTH_PERCENTAGE: &str = "health_percentage";
/// Number of checks whose last status is healthy.
pub const HEALTHY_CHECKS: &str = "healthy_checks";
/// Number of checks in the snapshot.
pub const TOTAL_CHECKS: &str = "total_checks";
/// Number of checks whose last status is degraded.
pub const DEGRADED_CHECKS: &str = "degraded_checks";
/// Number of checks whose last status is unhealthy.
pub const UNHEALTHY_CHECKS: &str = "unhealthy_checks";
/// Number of checks marked critical whose last status is unhealthy.
pub const CRITICAL_UNHEALTHY_CHECKS: &str = "critical_unhealthy_checks";

/// Mean API request latency over the rule window, milliseconds.
pub const AVG_API_LATENCY_MS: &str = "avg_api_latency_ms";
/// 95th percentile API request latency over the rule window, milliseconds.
pub const P95_API_LATENCY_MS: &str = "p95_api_latency_ms";
/// Share of API requests that failed over the rule window, 0–100.
pub const ERROR_RATE_PERCENT: &str = "error_rate_percent";
/// API requests per minute over the rule window.
pub const REQUEST_RATE_PER_MIN: &str = "request_rate_per_min";
/// Calls in progress.
pub const ACTIVE_CALLS: &str = "active_calls";
/// Share of calls that ended successfully over the rule window, 0–1.
pub const CALL_SUCCESS_RATE: &str = "call_success_rate";
/// Mean voice quality (MOS, 1–5) over the rule window.
pub const AVG_MOS: &str = "avg_mos";

/// LiveKit rooms open.
pub const ACTIVE_ROOMS: &str = "active_rooms";
/// LiveKit participants connected.
pub const ACTIVE_PARTICIPANTS: &str = "active_participants";
/// Share of LiveKit connection attempts that succeeded over the rule window, 0–1:
/// joined / (joined + connection aborted), from webhooks.
pub const CONNECTION_SUCCESS_RATE: &str = "connection_success_rate";
/// Room-creation errors (`LK1301`) applications reported over the rule window.
pub const ROOM_CREATION_FAILURES: &str = "room_creation_failures";
/// LiveKit rooms started over the rule window (webhooks).
pub const ROOMS_STARTED: &str = "rooms_started";
/// LiveKit rooms finished over the rule window (webhooks).
pub const ROOMS_FINISHED: &str = "rooms_finished";
/// LiveKit participants joined over the rule window (webhooks).
pub const PARTICIPANTS_JOINED: &str = "participants_joined";
/// LiveKit participants left over the rule window (webhooks).
pub const PARTICIPANTS_LEFT: &str = "participants_left";
/// LiveKit participant connections aborted over the rule window (webhooks).
pub const PARTICIPANTS_ABORTED: &str = "participants_aborted";
/// LiveKit egress that ended with `EGRESS_FAILED` over the rule window (webhooks).
pub const EGRESS_FAILURES: &str = "egress_failures";
/// Mean duration of the LiveKit rooms that finished over the rule window, seconds.
pub const AVG_ROOM_DURATION_SECONDS: &str = "avg_room_duration_seconds";

/// Median API request latency over the rule window, milliseconds.
pub const P50_API_LATENCY_MS: &str = "p50_api_latency_ms";
/// 99th percentile API request latency over the rule window, milliseconds.
pub const P99_API_LATENCY_MS: &str = "p99_api_latency_ms";
/// Requests over the rule window at least `slow_request_threshold` long.
pub const SLOW_REQUESTS: &str = "slow_requests";
/// Calls started since mon started.
pub const TOTAL_CALLS: &str = "total_calls";
/// Calls that ended successfully since mon started.
pub const SUCCESSFUL_CALLS: &str = "successful_calls";
/// Calls that ended unsuccessfully since mon started.
pub const FAILED_CALLS: &str = "failed_calls";
/// Mean duration of the calls that ended over the rule window, seconds.
pub const AVG_CALL_DURATION_SECONDS: &str = "avg_call_duration_seconds";
/// Mean AI provider response time (STT, LLM, TTS) over the rule window, milliseconds.
pub const AVG_RESPONSE_TIME_MS: &str = "avg_response_time_ms";
/// Calls started per minute over the rule window.
pub const CALLS_PER_MINUTE: &str = "calls_per_minute";
/// Application errors recorded since mon started.
pub const TOTAL_ERRORS: &str = "total_errors";
/// Application errors per minute over the rule window.
pub const ERRORS_PER_MINUTE: &str = "errors_per_minute";
/// Error occurrences tracked by fingerprint in the last minute (mon's own ERROR logs and ingested errors).
pub const TRACKED_ERRORS_PER_MINUTE: &str = "tracked_errors_per_minute";
/// Error groups (fingerprints) first seen in the last 5 minutes: a new kind of error.
pub const NEW_ERROR_KINDS: &str = "new_error_kinds";
/// Mean voice latency reported in voice-quality events over the rule window, milliseconds.
pub const AVG_VOICE_LATENCY_MS: &str = "avg_voice_latency_ms";
/// Mean packet loss reported in voice-quality events over the rule window, 0–1.
pub const AVG_PACKET_LOSS: &str = "avg_packet_loss";
/// Mean jitter reported in voice-quality events over the rule window, milliseconds.
pub const AVG_JITTER_MS: &str = "avg_jitter_ms";
/// AI provider cost recorded since mon started, US dollars.
pub const AI_COST_USD: &str = "ai_cost_usd";
