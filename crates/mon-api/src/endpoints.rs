//! [`ENDPOINTS`]: every method and path the server routes, with who may call it, what it
//! answers and how it fails. The OpenAPI document is built from this table, and a server
//! test fails when a route is served without a row here (or a row names no route).

use crate::ErrorCode;

/// An HTTP method the API serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET` (and `HEAD`).
    Get,
    /// `POST`.
    Post,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method's name in upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, whatever the configuration (liveness, readiness, the status page, badges,
    /// the web UI's assets, this document).
    Public,
    /// Anyone while the path is in `server.public_paths` (it is by default); else a
    /// bearer token with the `read` role.
    PublicByDefault,
    /// A bearer token with the `read` role (or any, since roles include the lower ones);
    /// none while no token is configured.
    Read,
    /// A bearer token with the `ingest` role (or `admin`).
    Ingest,
    /// A bearer token with the `admin` role.
    Admin,
    /// No bearer token: a LiveKit webhook signature (`Authorization: <jwt>`).
    LiveKitSignature,
}

impl Access {
    /// The bearer-token role the endpoint needs, if it needs one.
    pub fn role(self) -> Option<&'static str> {
        match self {
            Access::PublicByDefault | Access::Read => Some("read"),
            Access::Ingest => Some("ingest"),
            Access::Admin => Some("admin"),
            Access::Public | Access::LiveKitSignature => None,
        }
    }
}

/// What an endpoint answers on success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// JSON of the named schema (a type of [`crate::answers`] in the document's components).
    Typed(&'static str),
    /// A JSON object (its fields are documented in docs/api.md).
    Object,
    /// JSON of the named schema answered with status 201.
    Created(&'static str),
    /// A document of this media type (HTML, SVG, CSS, JavaScript, metrics text).
    Media(&'static str),
    /// No body (Alertmanager's `POST /api/v2/alerts` answers so).
    Empty,
}

/// What an endpoint reads from the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Nothing.
    None,
    /// An optional JSON object of the named schema.
    Optional(&'static str),
    /// A JSON object of the named schema.
    Typed(&'static str),
    /// A JSON array of objects (or NDJSON, one object a line).
    Events,
    /// A JSON array of objects of the named schema.
    Array(&'static str),
    /// Any bytes (their signature is checked).
    Raw,
}

/// The levels `GET /api/v1/logs?level=` accepts, as written (lowercase): the least
/// severe level shown.
pub const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];

/// The media type of `POST /api/v1/admin/backup`'s answer: an SQLite database file.
pub const SQLITE_MEDIA_TYPE: &str = "application/vnd.sqlite3";

/// What a query parameter accepts (each is optional unless [`Param::required`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A whole number from 1 to 10,000 (`limit`).
    Limit,
    /// A whole number from 1 to this many (`buckets`).
    Count(u32),
    /// A number above 0 and at most this (`k`).
    Positive(u32),
    /// A confidence level: a number above 0 and at most [`crate::stats::MAX_CONFIDENCE`].
    Level,
    /// An RFC 3339 time or a duration ago (`30m`, `24h`).
    Time,
    /// A duration (`5m`, `1h`).
    Duration,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// An IPv4 or IPv6 address.
    Ip,
    /// Any text.
    Text,
    /// Text that is not blank (a series name).
    Name,
}

/// A query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// What it accepts.
    pub kind: ParamKind,
    /// Whether a request without it is refused.
    pub required: bool,
}

const fn param(name: &'static str, kind: ParamKind) -> Param {
    Param {
        name,
        kind,
        required: false,
    }
}

const LIMIT: Param = param("limit", ParamKind::Limit);
const SINCE: Param = param("since", ParamKind::Time);

/// One routed method and path.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// The method.
    pub method: Method,
    /// The path as routed, parameters in braces (`/api/v1/checks/{name}`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// One line on what it does.
    pub summary: &'static str,
    /// Its query parameters.
    pub query: &'static [Param],
    /// What it reads from the body.
    pub body: Body,
    /// What it answers on success.
    pub answer: Answer,
    /// Whether it answers 503 with its usual body when the system is unhealthy or not ready.
    pub unhealthy_503: bool,
    /// The error codes it answers besides the ones of access ([`Endpoint::error_codes`]).
    pub errors: &'static [ErrorCode],
}

impl Endpoint {
    /// Every error code the endpoint may answer: its own, those of its access (401 and
    /// 403 behind a token), 404 for a path with parameters, 400 with query parameters,
    /// then the ones any request may meet (timeouts and limits, and the `server.security`
    /// layer's refusals: 403 for an address not allowed, 429 over a rate limit).
    pub fn error_codes(&self) -> Vec<ErrorCode> {
        let mut codes: Vec<ErrorCode> = self.errors.to_vec();
        if self.access.role().is_some() || self.access == Access::LiveKitSignature {
            codes.extend([ErrorCode::Unauthorized, ErrorCode::Forbidden]);
        }
        if self.path.contains('{') {
            codes.push(ErrorCode::NotFound);
        }
        if !self.query.is_empty() || self.body != Body::None {
            codes.push(ErrorCode::BadRequest);
        }
        if matches!(
            self.body,
            Body::Typed(_) | Body::Optional(_) | Body::Events | Body::Array(_)
        ) {
            codes.extend([ErrorCode::PayloadTooLarge, ErrorCode::UnsupportedMediaType]);
        }
        codes.extend([
            ErrorCode::Forbidden,
            ErrorCode::RateLimited,
            ErrorCode::RequestTimeout,
            ErrorCode::UriTooLong,
            ErrorCode::HeadersTooLarge,
            ErrorCode::Internal,
        ]);
        let mut seen = Vec::new();
        codes.retain(|c| {
            let new = !seen.contains(c);
            seen.push(*c);
            new
        });
        codes
    }
}

const fn get(path: &'static str, access: Access, summary: &'static str) -> Endpoint {
    Endpoint {
        method: Method::Get,
        path,
        access,
        summary,
        query: &[],
        body: Body::None,
        answer: Answer::Object,
        unhealthy_503: false,
        errors: &[],
    }
}

const fn post(path: &'static str, access: Access, summary: &'static str) -> Endpoint {
    Endpoint {
        method: Method::Post,
        ..get(path, access, summary)
    }
}

impl Endpoint {
    const fn query(self, query: &'static [Param]) -> Endpoint {
        Endpoint { query, ..self }
    }
    const fn body(self, body: Body) -> Endpoint {
        Endpoint { body, ..self }
    }
    const fn answer(self, answer: Answer) -> Endpoint {
        Endpoint { answer, ..self }
    }
    const fn errors(self, errors: &'static [ErrorCode]) -> Endpoint {
        Endpoint { errors, ..self }
    }
    const fn unhealthy_503(self) -> Endpoint {
        Endpoint {
            unhealthy_503: true,
            ..self
        }
    }
}

const HTML: Answer = Answer::Media("text/html; charset=utf-8");
const SVG: Answer = Answer::Media("image/svg+xml");
const JS: Answer = Answer::Media("text/javascript; charset=utf-8");
const CSS: Answer = Answer::Media("text/css; charset=utf-8");

use Access::{Admin, Ingest, LiveKitSignature, Public, PublicByDefault, Read};

/// Every endpoint the server routes.
pub const ENDPOINTS: &[Endpoint] = &[
    // Health (mon-health).
    get(
        "/health",
        PublicByDefault,
        "The overall status and check counts",
    )
    .unhealthy_503(),
    get(
        "/health/live",
        Public,
        "Liveness: 200 while the process serves",
    ),
    get(
        "/health/ready",
        Public,
        "Readiness: 200 once every check has run",
    )
    .unhealthy_503(),
    get(
        "/health/detailed",
        Read,
        "The overall status and every check",
    )
    .unhealthy_503(),
    get("/health/checks/{name}", Read, "One check").answer(Answer::Typed("CheckView")),
    get(
        "/health/livekit",
        Read,
        "The LiveKit checks: services, rooms, participants",
    )
    .unhealthy_503()
    .errors(&[ErrorCode::NotFound]),
    get(
        "/health/alerts",
        Read,
        "Firing alerts, for a health dashboard",
    )
    .answer(Answer::Typed("HealthAlertsAnswer")),
    // The seeds' names (aliases answering exactly as the endpoints they name).
    get(
        "/health/",
        PublicByDefault,
        "The overall status and check counts (as /health)",
    )
    .unhealthy_503(),
    get(
        "/monitoring/health",
        PublicByDefault,
        "The overall status and check counts (as /health)",
    )
    .unhealthy_503(),
    get("/health/liveness", Public, "Liveness (as /health/live)"),
    get("/health/readiness", Public, "Readiness (as /health/ready)").unhealthy_503(),
    get(
        "/monitoring/alerts",
        Read,
        "Firing alerts (as /health/alerts)",
    )
    .answer(Answer::Typed("HealthAlertsAnswer")),
    get(
        "/health/metrics",
        Read,
        "The rule variables now (as /api/v1/snapshot)",
    )
    .answer(Answer::Typed("SnapshotAnswer")),
    get(
        "/monitoring/metrics",
        Read,
        "The rule variables now (as /api/v1/snapshot)",
    )
    .answer(Answer::Typed("SnapshotAnswer")),
    get("/monitoring/dashboard", Public, "The web UI (as /)").answer(HTML),
    post("/health/alerts/{id}/resolve", Admin, "Resolve an alert")
        .body(Body::Optional("ActorBody"))
        .errors(&[ErrorCode::Conflict]),
    post(
        "/api/v1/heartbeat/{name}",
        Ingest,
        "A heartbeat: the job ran",
    )
    .answer(Answer::Typed("CheckView")),
    post(
        "/api/v1/heartbeat/{name}/start",
        Ingest,
        "A heartbeat: the job started",
    )
    .answer(Answer::Typed("CheckView")),
    post(
        "/api/v1/heartbeat/{name}/fail",
        Ingest,
        "A heartbeat: the job failed",
    )
    .answer(Answer::Typed("CheckView")),
    // Metrics and the server.
    get(
        "/metrics",
        PublicByDefault,
        "Prometheus exposition (OpenMetrics, or text on request)",
    )
    .answer(Answer::Media(
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    )),
    get("/api/v1/status", Read, "The server at a glance").answer(Answer::Typed("StatusAnswer")),
    get(
        "/api/v1/auth/whoami",
        Read,
        "The role of the presented token",
    )
    .answer(Answer::Typed("WhoamiAnswer")),
    get("/api/openapi.json", Public, "This document"),
    // Checks.
    get("/api/v1/checks", Read, "Every check").answer(Answer::Typed("ChecksAnswer")),
    get("/api/v1/checks/{name}", Read, "One check").answer(Answer::Typed("CheckView")),
    get(
        "/api/v1/checks/{name}/results",
        Read,
        "A check's stored results, newest first",
    )
    .query(&[SINCE, LIMIT])
    .answer(Answer::Typed("CheckResultsAnswer")),
    get(
        "/api/v1/check-history",
        Read,
        "Every check's results in equal buckets (the history bars)",
    )
    .query(&[
        param("window", ParamKind::Duration),
        param("buckets", ParamKind::Count(1440)),
    ])
    .answer(Answer::Typed("ChecksHistoryAnswer")),
    // Incidents (shown on the status page).
    get("/api/v1/incidents", Read, "Incidents, newest first")
        .query(&[LIMIT])
        .answer(Answer::Typed("IncidentsAnswer")),
    get("/api/v1/incidents/{id}", Read, "One incident with its updates")
        .answer(Answer::Typed("IncidentView")),
    post(
        "/api/v1/incidents",
        Admin,
        "Open an incident, by hand or from an alert",
    )
    .body(Body::Typed("IncidentBody"))
    .answer(Answer::Created("IncidentView")),
    post(
        "/api/v1/incidents/{id}/updates",
        Admin,
        "Post an update to an incident",
    )
    .body(Body::Typed("IncidentUpdateBody"))
    .answer(Answer::Typed("IncidentView")),
    // Ingest and series.
    post(
        "/api/v1/events",
        Ingest,
        "Ingest a batch of events (JSON array or NDJSON, optionally gzip)",
    )
    .query(&[param("source", ParamKind::Name)])
    .body(Body::Events)
    .errors(&[
        ErrorCode::InvalidEvent,
        ErrorCode::MalformedJson,
        ErrorCode::Busy,
        ErrorCode::Unavailable,
    ])
    .answer(Answer::Typed("EventsAnswer")),
    // OpenTelemetry in (docs/otel.md).
    post("/v1/metrics", Ingest, "OTLP/HTTP metrics export (protobuf or JSON, optionally gzip)")
        .body(Body::Raw)
        .errors(&[
            ErrorCode::BadRequest,
            ErrorCode::MalformedJson,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::Busy,
            ErrorCode::Unavailable,
        ])
        .answer(Answer::Object),
    post("/v1/logs", Ingest, "OTLP/HTTP logs export (protobuf or JSON, optionally gzip)")
        .body(Body::Raw)
        .errors(&[
            ErrorCode::BadRequest,
            ErrorCode::MalformedJson,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::Busy,
            ErrorCode::Unavailable,
        ])
        .answer(Answer::Object),
    post("/v1/traces", Ingest, "OTLP/HTTP traces export (protobuf or JSON, optionally gzip)")
        .body(Body::Raw)
        .errors(&[
            ErrorCode::BadRequest,
            ErrorCode::MalformedJson,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::Busy,
            ErrorCode::Unavailable,
        ])
        .answer(Answer::Object),
    get("/api/v1/snapshot", Read, "The rule variables now").answer(Answer::Typed("SnapshotAnswer")),
    get(
        "/api/v1/metrics",
        Read,
        "The stored series names and labels",
    )
    .answer(Answer::Typed("SeriesListAnswer")),
    get(
        "/api/v1/metrics/query",
        Read,
        "Points of one series over a range",
    )
    .query(&[
        Param {
            required: true,
            ..param("name", ParamKind::Name)
        },
        param("labels", ParamKind::Text),
        param("from", ParamKind::Time),
        param("to", ParamKind::Time),
        param("step", ParamKind::Duration),
    ])
    .answer(Answer::Typed("SeriesQueryAnswer")),
    get(
        "/api/v1/metrics/range",
        Read,
        "Series of one name over a range, compact: bucket times once, values as arrays",
    )
    .query(&[
        Param {
            required: true,
            ..param("name", ParamKind::Name)
        },
        param("labels", ParamKind::Text),
        param("from", ParamKind::Time),
        param("to", ParamKind::Time),
        param("step", ParamKind::Duration),
        param("stats", ParamKind::Text),
    ])
    .answer(Answer::Typed("CompactRangeAnswer")),
    get(
        "/api/v1/anomaly/{variable}",
        Read,
        "A variable's anomaly baseline and its band (expected ± k deviations) over a range",
    )
    .query(&[
        param("from", ParamKind::Time),
        param("to", ParamKind::Time),
        param("step", ParamKind::Duration),
        param("k", ParamKind::Positive(100)),
    ])
    .answer(Answer::Typed("AnomalyAnswer")),
    // Alerts, silences, rules, channels.
    get(
        "/api/v1/alerts",
        Read,
        "Open alerts, or stored ones by state",
    )
    .query(&[
        param(
            "state",
            ParamKind::OneOf(&["pending", "firing", "acknowledged", "resolved", "all"]),
        ),
        param(
            "severity",
            ParamKind::OneOf(&["info", "warning", "error", "critical"]),
        ),
        param("rule", ParamKind::Text),
        LIMIT,
    ])
    .answer(Answer::Typed("AlertsAnswer")),
    get(
        "/api/v1/alerts/stats",
        Read,
        "Open alerts by state and severity; response times",
    )
    .query(&[SINCE])
    .answer(Answer::Typed("AlertStatsAnswer")),
    get(
        "/api/v1/alerts/quality",
        Read,
        "Per rule: how often it fired and was handled, noisy rules, suggested thresholds",
    )
    .query(&[SINCE, param("flap_minutes", ParamKind::Count(1440))])
    .answer(Answer::Typed("AlertQualityAnswer")),
    get(
        "/api/v1/alerts/{id}",
        Read,
        "One alert with its history and notifications",
    )
    .answer(Answer::Typed("AlertAnswer")),
    post(
        "/api/v1/alerts",
        Ingest,
        "Raise (or resolve) an alert from an application",
    )
    .body(Body::Typed("RaiseAlertBody"))
    .errors(&[ErrorCode::Busy, ErrorCode::Unavailable])
    .answer(Answer::Typed("RaiseAlertAnswer")),
    post(
        "/api/v2/alerts",
        Ingest,
        "Alertmanager's API: raise or resolve alerts (Prometheus, Grafana...)",
    )
    .body(Body::Array("PostableAlert"))
    .errors(&[ErrorCode::Busy, ErrorCode::Unavailable])
    .answer(Answer::Empty),
    post("/api/v1/alerts/{id}/ack", Admin, "Acknowledge an alert")
        .body(Body::Optional("ActorBody"))
        .errors(&[ErrorCode::Conflict])
        .answer(Answer::Typed("AlertView")),
    post("/api/v1/alerts/{id}/resolve", Admin, "Resolve an alert")
        .body(Body::Optional("ActorBody"))
        .errors(&[ErrorCode::Conflict])
        .answer(Answer::Typed("AlertView")),
    get("/api/v1/silences", Read, "Every silence").answer(Answer::Typed("SilencesAnswer")),
    post("/api/v1/silences", Admin, "Create a silence")
        .body(Body::Typed("SilenceBody"))
        .answer(Answer::Created("SilenceView")),
    Endpoint {
        method: Method::Delete,
        ..get("/api/v1/silences/{id}", Admin, "Expire a silence")
    }
    .answer(Answer::Typed("SilenceView")),
    get("/api/v1/rules", Read, "Every alert rule with its state")
        .answer(Answer::Typed("RulesAnswer")),
    get(
        "/api/v1/channels",
        Read,
        "Every notification channel with its state",
    )
    .answer(Answer::Typed("ChannelsAnswer")),
    post(
        "/api/v1/channels/{name}/test",
        Admin,
        "Send a test notification through a channel",
    )
    .answer(Answer::Typed("ChannelTestAnswer"))
    .errors(&[ErrorCode::ChannelFailed, ErrorCode::ChannelTimeout]),
    // Logs and errors.
    get("/api/v1/errors", Read, "Error groups, most recent first")
        .query(&[SINCE, LIMIT])
        .answer(Answer::Typed("ErrorsAnswer")),
    get(
        "/api/v1/errors/{fingerprint}",
        Read,
        "One error group with samples",
    )
    .answer(Answer::Typed("ErrorGroupView")),
    get("/api/v1/logs", Read, "Search stored logs")
        .query(&[
            param("q", ParamKind::Text),
            param("level", ParamKind::OneOf(LOG_LEVELS)),
            param("call_id", ParamKind::Text),
            SINCE,
            param("until", ParamKind::Time),
            LIMIT,
        ])
        .answer(Answer::Typed("LogsAnswer")),
    // Security (apps/server/src/security_api.rs).
    get(
        "/api/v1/security/summary",
        Read,
        "Top addresses and principals by failures and volume, counts, current refusals",
    )
    .answer(Answer::Typed("SecuritySummaryAnswer")),
    get(
        "/api/v1/security/events",
        Read,
        "Stored auth, security and principal-naming request events, newest first",
    )
    .query(&[
        param(
            "type",
            ParamKind::OneOf(crate::security::SECURITY_EVENT_TYPES),
        ),
        param("ip", ParamKind::Ip),
        param("principal", ParamKind::Text),
        SINCE,
        LIMIT,
    ])
    .answer(Answer::Typed("SecurityEventsAnswer")),
    // Deployments and ingest sources (apps/server/src/sources.rs).
    get(
        "/api/v1/deployments",
        Read,
        "Deployment events within a range, newest first",
    )
    .query(&[
        param("service", ParamKind::Text),
        param("from", ParamKind::Time),
        param("to", ParamKind::Time),
        LIMIT,
    ])
    .answer(Answer::Typed("DeploymentsAnswer")),
    // Experiments and comparisons (apps/server/src/experiments.rs).
    get(
        "/api/v1/experiments",
        Read,
        "Every experiment with events since a time, with its variants",
    )
    .query(&[param("since", ParamKind::Time)])
    .answer(Answer::Typed("ExperimentsAnswer")),
    get(
        "/api/v1/experiments/{name}",
        Read,
        "Each variant of one experiment against the control: rates (z-test), latencies, durations, ratings and AI cost per call (Welch, Mann-Whitney U), with intervals and warnings",
    )
    .query(&[
        param("since", ParamKind::Time),
        param("control", ParamKind::Text),
        param("confidence", ParamKind::Level),
    ])
    .answer(Answer::Typed("ExperimentAnswer")),
    get(
        "/api/v1/compare",
        Read,
        "One stored metric in two periods, or before and after a deployment (Welch, Mann-Whitney U, percentiles)",
    )
    .query(&[
        Param {
            required: true,
            ..param("metric", ParamKind::Name)
        },
        param("labels", ParamKind::Text),
        param("a", ParamKind::Text),
        param("b", ParamKind::Text),
        param("deployment", ParamKind::Text),
        param("window", ParamKind::Duration),
        param("confidence", ParamKind::Level),
    ])
    .errors(&[ErrorCode::NotFound])
    .answer(Answer::Typed("CompareAnswer")),
    // Stakeholder reports (apps/server/src/reports/).
    get(
        "/api/v1/reports",
        Read,
        "A report made now over a period: uptime, incidents (MTTA, MTTR), calls, voice quality, CSAT, AI cost, top errors, experiments, deployments, each with an SVG chart",
    )
    .query(&[
        SINCE,
        param("to", ParamKind::Time),
        param("source", ParamKind::Name),
    ])
    .answer(Answer::Typed("ReportAnswer")),
    get(
        "/api/v1/reports/latest",
        Read,
        "The last scheduled report (reports.schedule)",
    )
    .errors(&[ErrorCode::NotFound])
    .answer(Answer::Typed("ReportAnswer")),
    Endpoint {
        method: Method::Delete,
        ..get(
            "/api/v1/sources/{source}",
            Admin,
            "Delete every stored row, series and in-memory window of one ingest source label (source=demo)",
        )
    }
    .errors(&[
        ErrorCode::BadRequest,
        ErrorCode::Busy,
        ErrorCode::Unavailable,
    ])
    .answer(Answer::Typed("SourceDeletedAnswer")),
    // Dashboards.
    get("/api/v1/dashboards", Read, "Every dashboard").answer(Answer::Typed("DashboardsAnswer")),
    get(
        "/api/v1/dashboards/{id}",
        Read,
        "One dashboard with its panels' data",
    )
    .query(&[
        param("range", ParamKind::Duration),
        param("from", ParamKind::Time),
        param("to", ParamKind::Time),
    ]),
    get(
        "/api/v1/dashboards/{id}/grafana",
        Read,
        "One dashboard as a Grafana dashboard JSON",
    ),
    // Administration (apps/server/src/backup.rs).
    post(
        "/api/v1/admin/backup",
        Admin,
        "An online, consistent copy of the store (an SQLite file), streamed",
    )
    .answer(Answer::Media(SQLITE_MEDIA_TYPE)),
    // LiveKit.
    post(
        "/api/v1/webhooks/livekit",
        LiveKitSignature,
        "A LiveKit webhook delivery",
    )
    .body(Body::Raw),
    // Status page and badges.
    get("/status", Public, "The public status page").answer(HTML),
    get(
        "/badge/{check}/status.svg",
        Public,
        "A public check's status badge",
    )
    .answer(SVG),
    get(
        "/badge/{check}/uptime.svg",
        Public,
        "A public check's uptime badge",
    )
    .query(&[param(
        "window",
        ParamKind::OneOf(&["1h", "24h", "7d", "30d"]),
    )])
    .answer(SVG),
    // The web UI.
    get("/", Public, "The web UI").answer(HTML),
    get("/ui/app.js", Public, "The web UI's main module").answer(JS),
    get("/ui/core.js", Public, "The web UI's shared module").answer(JS),
    get("/ui/format.js", Public, "The web UI's formatting module").answer(JS),
    get("/ui/chart.js", Public, "The web UI's chart module").answer(JS),
    get(
        "/ui/views/overview.js",
        Public,
        "The web UI's overview page",
    )
    .answer(JS),
    get(
        "/ui/views/dashboards.js",
        Public,
        "The web UI's dashboards pages",
    )
    .answer(JS),
    get("/ui/views/checks.js", Public, "The web UI's check page").answer(JS),
    get("/ui/views/alerts.js", Public, "The web UI's alert pages").answer(JS),
    get("/ui/views/errors.js", Public, "The web UI's errors page").answer(JS),
    get("/ui/views/logs.js", Public, "The web UI's logs page").answer(JS),
    get(
        "/ui/views/incidents.js",
        Public,
        "The web UI's incidents page",
    )
    .answer(JS),
    get(
        "/ui/views/experiments.js",
        Public,
        "The web UI's experiments page",
    )
    .answer(JS),
    get("/ui/views/reports.js", Public, "The web UI's reports page").answer(JS),
    get("/ui/app.css", Public, "The web UI's style sheet").answer(CSS),
    get("/ui/favicon.svg", Public, "The web UI's icon").answer(SVG),
    get("/ui/vendor/uplot.js", Public, "The chart library").answer(JS),
    get(
        "/ui/vendor/uplot.css",
        Public,
        "The chart library's style sheet",
    )
    .answer(CSS),
];
