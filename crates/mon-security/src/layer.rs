//! [`SecurityLayer`]: the tower layer. Per request it applies the policy (IP lists, blocks,
//! per-route rate limits), runs the service, then emits what happened as `mon_core`
//! events: a `request` always, an `auth` failure for a 401 or 403 answer, a `security`
//! event for a refusal or a block.

use crate::principal::{Slot, SlotInner};
use crate::tracker::{Key, Subject, Tracker};
use crate::{Block, IpRange, Principal, RateLimit, Refusal, SecurityPolicy, client_ip};
use axum::body::HttpBody;
use axum::extract::{ConnectInfo, MatchedPath};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mon_core::{AuthEvent, Event, RequestEvent, SecurityEvent, Severity};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

/// Where the layer's events go: mon-server's ingest path, a `mon_metrics::Recorder`, a
/// queue to forward... Called on the request's task: it must not block.
pub type Sink = Arc<dyn Fn(Event) + Send + Sync>;

/// The endpoint of a request no route matched (never the raw URL, which would make every
/// scanner's probe a new label value).
pub const UNMATCHED: &str = "unmatched";

/// The tower layer: mount it with `Router::layer` (it runs after routing, so it sees the
/// route template) and serve with `into_make_service_with_connect_info::<SocketAddr>()`
/// (so it sees the client's address).
///
/// ```no_run
/// # async fn run(listener: tokio::net::TcpListener) {
/// use axum::{Router, routing::get};
/// let sink = |event: mon_core::Event| { /* record or forward it */ };
/// let app = Router::new()
///     .route("/api/rooms/{id}", get(|| async { "room" }))
///     .layer(mon_security::SecurityLayer::new(mon_security::SecurityPolicy::default(), sink));
/// axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
/// # }
/// ```
#[derive(Clone)]
pub struct SecurityLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SecurityLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityLayer")
            .field("policy", &self.shared.policy)
            .finish_non_exhaustive()
    }
}

/// What every copy of the layer and every request share.
pub(crate) struct Shared {
    policy: SecurityPolicy,
    /// `rate_limits` by route template, with their index (the tracker's key).
    routes: HashMap<String, (usize, RateLimit)>,
    sink: Sink,
    tracker: Mutex<Tracker>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl SecurityLayer {
    /// A layer applying `policy` (validate it first: [`SecurityPolicy::validate`]) and
    /// handing its events to `sink`.
    pub fn new(policy: SecurityPolicy, sink: impl Fn(Event) + Send + Sync + 'static) -> Self {
        let routes = policy
            .rate_limits
            .iter()
            .enumerate()
            .map(|(i, (path, limit))| (path.clone(), (i, *limit)))
            .collect();
        SecurityLayer {
            shared: Arc::new(Shared {
                tracker: Mutex::new(Tracker::new(policy.max_tracked_keys)),
                policy,
                routes,
                sink: Arc::new(sink),
            }),
        }
    }

    /// The addresses and principals refused now after too many failed authentications,
    /// the newest first.
    pub fn blocks(&self) -> Vec<Block> {
        self.shared.tracker().blocks(Instant::now())
    }

    /// The policy it applies.
    pub fn policy(&self) -> &SecurityPolicy {
        &self.shared.policy
    }
}

impl<S> tower::Layer<S> for SecurityLayer {
    type Service = SecurityService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SecurityService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`SecurityLayer`] wraps around another.
#[derive(Clone)]
pub struct SecurityService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for SecurityService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityService").finish_non_exhaustive()
    }
}

impl<S, B> tower::Service<Request<B>> for SecurityService<S>
where
    S: tower::Service<Request<B>, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: HttpBody + Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let started = Instant::now();
        let shared = self.shared.clone();
        let seen = Seen::of(&request, &shared.policy.trusted_proxies);
        if let Some(refusal) = shared.admit(&seen, started) {
            let answer = refusal.into_response();
            shared.finish(&seen, None, &answer, started, false);
            return Box::pin(std::future::ready(Ok(answer)));
        }
        let slot = Arc::new(SlotInner {
            shared: shared.clone(),
            ip: seen.ip,
            endpoint: seen.endpoint.clone(),
            principal: OnceLock::new(),
        });
        request.extensions_mut().insert(Slot(slot.clone()));
        // Called here, right after `poll_ready`, so the service needs no clone per request.
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await?;
            let principal = answer
                .extensions()
                .get::<Principal>()
                .or_else(|| slot.principal.get())
                .cloned();
            shared.finish(&seen, principal.as_ref(), &answer, started, true);
            Ok(answer)
        })
    }
}

/// A request's endpoint: the route template axum matched (its shared copy, not a new
/// string per request), or [`UNMATCHED`].
#[derive(Debug, Clone)]
pub(crate) struct Endpoint(Option<MatchedPath>);

impl std::ops::Deref for Endpoint {
    type Target = str;

    fn deref(&self) -> &str {
        self.0.as_ref().map_or(UNMATCHED, MatchedPath::as_str)
    }
}

/// What the layer reads of a request before running it.
struct Seen {
    ip: Option<IpAddr>,
    endpoint: Endpoint,
    method: &'static str,
    request_bytes: Option<u64>,
    /// The `Authorization` scheme, lowercase (`bearer`, `basic`): never the credentials.
    scheme: Option<&'static str>,
}

impl Seen {
    fn of<B: HttpBody>(request: &Request<B>, trusted: &[IpRange]) -> Self {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Seen {
            ip: client_ip(peer, request.headers(), trusted),
            endpoint: Endpoint(request.extensions().get::<MatchedPath>().cloned()),
            method: method_name(request.method()),
            request_bytes: content_length(request.headers())
                .or_else(|| request.body().size_hint().exact()),
            scheme: auth_scheme(request.headers()),
        }
    }
}

/// Standard methods by name; any other is `OTHER` (a method is a label value).
fn method_name(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    const NAMES: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .iter()
        .position(|m| m == method)
        .map_or("OTHER", |i| NAMES[i])
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn auth_scheme(headers: &HeaderMap) -> Option<&'static str> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let scheme = value.split(|b| *b == b' ').next()?;
    Some(
        [
            ("bearer", "bearer"),
            ("basic", "basic"),
            ("digest", "digest"),
        ]
        .iter()
        .find(|(name, _)| scheme.eq_ignore_ascii_case(name.as_bytes()))
        .map_or("other", |(_, label)| label),
    )
}

impl Shared {
    fn tracker(&self) -> std::sync::MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn security(&self, event: &str, severity: Severity, ip: Option<IpAddr>, endpoint: &str) {
        self.security_about(event, severity, ip, None, endpoint, None);
    }

    fn security_about(
        &self,
        event: &str,
        severity: Severity,
        ip: Option<IpAddr>,
        principal: Option<&str>,
        endpoint: &str,
        detail: Option<String>,
    ) {
        (self.sink)(Event::Security(SecurityEvent {
            event: event.to_owned(),
            severity,
            principal: principal.map(str::to_owned),
            ip,
            endpoint: Some(endpoint.to_owned()),
            detail,
            timestamp: None,
            experiment: None,
            variant: None,
        }));
    }

    /// The address lists, the address's block and the route's rate limit, in that order
    /// (at `now`, when the request arrived): the refusal of a request that must not reach
    /// the service.
    fn admit(&self, seen: &Seen, now: Instant) -> Option<Refusal> {
        let policy = &self.policy;
        let denied = match seen.ip {
            Some(ip) => {
                IpRange::any(&policy.ip_denylist, ip)
                    || (!policy.ip_allowlist.is_empty() && !IpRange::any(&policy.ip_allowlist, ip))
            }
            // An allowlist cannot admit a client whose address is unknown.
            None => !policy.ip_allowlist.is_empty(),
        };
        if denied {
            self.security("ip_denied", Severity::Warning, seen.ip, &seen.endpoint);
            return Some(Refusal::forbidden(
                "requests from your address are not allowed",
            ));
        }
        let route = self.routes.get(&*seen.endpoint);
        let blocking = !policy.block_duration.is_zero() && seen.ip.is_some();
        if route.is_none() && !blocking {
            return None;
        }
        let refused = {
            let mut tracker = self.tracker();
            if let Some(left) = seen
                .ip
                .filter(|_| blocking)
                .and_then(|ip| tracker.blocked(&Subject::Ip(ip), now))
            {
                Some(Refusal::too_many(
                    left,
                    "too many failed authentications from your address; retry later",
                ))
            } else {
                route.and_then(|(i, limit)| {
                    tracker
                        .hit(Key::Route(*i, seen.ip), *limit, now)
                        .err()
                        .map(|left| Refusal::too_many(left, "rate limit reached; retry later"))
                })
            }
        };
        if refused.is_some() {
            self.security("rate_limited", Severity::Warning, seen.ip, &seen.endpoint);
        }
        refused
    }

    /// The per-principal part of the policy, when the application names the principal.
    pub(crate) fn admit_principal(
        &self,
        name: &str,
        ip: Option<IpAddr>,
        endpoint: &str,
    ) -> Result<(), Refusal> {
        let limit = self.policy.principal_rate_limit;
        let blocking = !self.policy.block_duration.is_zero();
        if limit.is_none() && !blocking {
            return Ok(());
        }
        let now = Instant::now();
        let refused = {
            let mut tracker = self.tracker();
            let subject = Subject::Principal(name.to_owned());
            if let Some(left) = tracker.blocked(&subject, now).filter(|_| blocking) {
                Some(Refusal::too_many(
                    left,
                    "too many failed authentications for this principal; retry later",
                ))
            } else {
                limit.and_then(|limit| {
                    tracker
                        .hit(Key::Principal(name.into()), limit, now)
                        .err()
                        .map(|left| Refusal::too_many(left, "rate limit reached; retry later"))
                })
            }
        };
        match refused {
            Some(refusal) => {
                self.security_about(
                    "rate_limited",
                    Severity::Warning,
                    ip,
                    Some(name),
                    endpoint,
                    None,
                );
                Err(refusal)
            }
            None => Ok(()),
        }
    }

    /// After the answer: the auth failure of a 401 or 403 the service answered (and the
    /// block it may start), then the request itself.
    fn finish(
        &self,
        seen: &Seen,
        principal: Option<&Principal>,
        answer: &Response,
        started: Instant,
        from_service: bool,
    ) {
        let status = answer.status();
        if from_service && (status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN) {
            self.auth_failed(seen, principal, status);
        }
        (self.sink)(Event::Request(RequestEvent {
            endpoint: String::from(&*seen.endpoint),
            method: seen.method.to_owned(),
            status: status.as_u16(),
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            request_bytes: seen.request_bytes,
            response_bytes: content_length(answer.headers())
                .or_else(|| answer.body().size_hint().exact()),
            principal: principal.map(|p| p.name().to_owned()),
            ip: seen.ip,
            timestamp: None,
            experiment: None,
            variant: None,
        }));
    }

    fn auth_failed(&self, seen: &Seen, principal: Option<&Principal>, status: StatusCode) {
        let method = principal
            .and_then(Principal::method)
            .or(seen.scheme)
            .unwrap_or("http");
        (self.sink)(Event::Auth(AuthEvent {
            success: false,
            method: method.to_owned(),
            principal: principal.map(|p| p.name().to_owned()),
            ip: seen.ip,
            reason: Some(
                if status == StatusCode::UNAUTHORIZED {
                    "unauthorized"
                } else {
                    "forbidden"
                }
                .to_owned(),
            ),
            endpoint: Some(String::from(&*seen.endpoint)),
            timestamp: None,
            experiment: None,
            variant: None,
        }));
        let policy = &self.policy;
        if policy.max_failed_logins == 0 {
            return;
        }
        let subjects = [
            seen.ip.map(Subject::Ip),
            principal.map(|p| Subject::Principal(p.name().to_owned())),
        ];
        let (now, wall) = (Instant::now(), chrono::Utc::now());
        let blocks: Vec<Block> = {
            let mut tracker = self.tracker();
            subjects
                .into_iter()
                .flatten()
                .filter_map(|subject| {
                    tracker.failure(
                        subject,
                        policy.max_failed_logins,
                        policy.failed_login_window,
                        policy.block_duration,
                        now,
                        wall,
                    )
                })
                .collect()
        };
        for block in blocks {
            let (ip, principal) = match &block.subject {
                Subject::Ip(ip) => (Some(*ip), None),
                Subject::Principal(name) => (seen.ip, Some(name.as_str())),
            };
            self.security_about(
                "blocked",
                Severity::Error,
                ip,
                principal,
                &seen.endpoint,
                Some(format!(
                    "{} failed authentications within {}; refused until {}",
                    block.failures,
                    mon_core::duration::format(policy.failed_login_window),
                    block
                        .until
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )),
            );
        }
    }
}
