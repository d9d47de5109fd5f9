//! `type: supabase`: probes a Supabase project's Data API (PostgREST behind the API
//! gateway, `/rest/v1/`) and Auth (GoTrue, `/auth/v1/health`) with the project's API key,
//! one sub-result each, on the `http` kind's client.

use super::common::{SubResult, answer_message, combine, format_latency, redact_url};
use super::http::{ApiAnswer, ClientSettings, call, validate_http_url};
use super::{BuildContext, KindConfig, error_chain, validate_header_secret, validate_services};
use crate::HealthError;
use mon_core::{CheckOutcome, HealthCheck, Secret, Status, async_trait};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// Settings of a `supabase` check.
///
/// ```yaml
/// - name: supabase
///   type: supabase
///   url: https://abcdefghijklmnop.supabase.co
///   api_key: ${SUPABASE_ANON_KEY}   # anon / publishable, or service_role / secret
///   services: [rest, auth]          # the default: both
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupabaseCheckConfig {
    /// The project URL, `https://<project-ref>.supabase.co` (or a self-hosted API
    /// gateway's URL, path prefix included), without `/rest/v1`.
    pub url: Url,
    /// The project's API key: `anon` / publishable or `service_role` / secret. It is sent
    /// as the `apikey` header (and, for a legacy JWT key, as `Authorization: Bearer`).
    /// Write it as `${VAR}`; it never appears in outcomes, logs or API answers.
    pub api_key: Secret,
    /// The services to probe (default both): `rest` (`GET /rest/v1/`) and `auth`
    /// (`GET /auth/v1/health`).
    #[serde(default = "SupabaseService::all")]
    pub services: Vec<SupabaseService>,
    /// Whether to verify the server's TLS certificate (default `true`).
    #[serde(default = "yes")]
    pub verify_tls: bool,
}

fn yes() -> bool {
    true
}

/// One Supabase service a `supabase` check probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SupabaseService {
    /// The Data API: PostgREST's root `GET /rest/v1/` through the API gateway.
    Rest,
    /// Auth (GoTrue): `GET /auth/v1/health`.
    Auth,
}

impl SupabaseService {
    /// Both services, in the order they are reported.
    pub fn all() -> Vec<SupabaseService> {
        vec![SupabaseService::Rest, SupabaseService::Auth]
    }

    /// The name as written in config and details.
    pub fn as_str(self) -> &'static str {
        match self {
            SupabaseService::Rest => "rest",
            SupabaseService::Auth => "auth",
        }
    }

    /// What a healthy service answers, for messages.
    fn expected(self) -> &'static str {
        match self {
            SupabaseService::Rest => "the OpenAPI description (JSON)",
            SupabaseService::Auth => "the Auth health answer (JSON)",
        }
    }

    /// The path under the project URL.
    fn path(self) -> &'static str {
        match self {
            SupabaseService::Rest => "/rest/v1/",
            SupabaseService::Auth => "/auth/v1/health",
        }
    }
}

/// Hides the key (a `Secret` prints `***` anyway) and the URL's credentials.
impl fmt::Debug for SupabaseCheckConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupabaseCheckConfig")
            .field("url", &redact_url(&self.url))
            .field("api_key", &self.api_key)
            .field("services", &self.services)
            .field("verify_tls", &self.verify_tls)
            .finish()
    }
}

impl KindConfig for SupabaseCheckConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        validate_http_url(check, "url", &self.url)?;
        let shown = redact_url(&self.url);
        if self.url.query().is_some() {
            return Err(HealthError::invalid(
                check,
                "url",
                format!(
                    "{shown:?} has a query; write the project URL alone, such as https://abcdefghijklmnop.supabase.co"
                ),
            ));
        }
        let path = self.url.path().trim_end_matches('/');
        if ["/rest/v1", "/auth/v1"].iter().any(|p| path.ends_with(p)) {
            return Err(HealthError::invalid(
                check,
                "url",
                format!(
                    "{shown:?} names an API; write the project URL without /rest/v1 or /auth/v1, such as https://abcdefghijklmnop.supabase.co"
                ),
            ));
        }
        validate_header_secret(check, "api_key", &self.api_key, "SUPABASE_ANON_KEY")?;
        validate_services(check, &self.services, |s| s.as_str(), "rest, auth")
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError> {
        let client = ClientSettings {
            verify_tls: self.verify_tls,
            // A redirect would carry the key to another place: judged as an answer instead.
            follow_redirects: false,
            keep_alive: false,
        }
        .shared_client()
        .map_err(|e| HealthError::Build {
            check: ctx.name.to_owned(),
            kind: "supabase".to_owned(),
            message: error_chain(&e),
        })?;
        let mut services = self.services.clone();
        services.sort();
        Ok(Arc::new(SupabaseCheck {
            client,
            base: self.url.clone(),
            display_url: redact_url(&self.url),
            api_key: self.api_key.clone(),
            services,
            deadline: ctx.request_deadline(),
        }))
    }
}

/// A built `supabase` check.
struct SupabaseCheck {
    client: reqwest::Client,
    base: Url,
    display_url: String,
    api_key: Secret,
    /// Sorted, so results come in a stable order.
    services: Vec<SupabaseService>,
    deadline: Duration,
}

impl SupabaseCheck {
    fn url(&self, service: SupabaseService) -> Url {
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{}", service.path()));
        url
    }

    /// The request for `service`: the key as `apikey`, and as a bearer token when it is a
    /// legacy JWT key (the new `sb_…` keys go in `apikey` alone).
    fn request(&self, service: SupabaseService) -> reqwest::RequestBuilder {
        let key = self.api_key.expose();
        let mut apikey = HeaderValue::from_str(key).unwrap_or(HeaderValue::from_static(""));
        apikey.set_sensitive(true);
        let mut request = self
            .client
            .get(self.url(service))
            .header("apikey", apikey)
            .header(ACCEPT, "application/json");
        if service == SupabaseService::Rest && !key.starts_with("sb_") {
            let mut bearer = HeaderValue::from_str(&format!("Bearer {key}"))
                .unwrap_or(HeaderValue::from_static(""));
            bearer.set_sensitive(true);
            request = request.header(AUTHORIZATION, bearer);
        }
        request
    }

    /// `service`'s sub-result, when it is probed.
    async fn probed(&self, service: SupabaseService) -> Option<(String, SubResult)> {
        if !self.services.contains(&service) {
            return None;
        }
        Some((service.as_str().to_owned(), self.probe(service).await))
    }

    async fn probe(&self, service: SupabaseService) -> SubResult {
        let started = Instant::now();
        let answer = call(self.request(service), self.deadline, |status| {
            // The OpenAPI description can be large and is not judged.
            !(service == SupabaseService::Rest && status.is_success())
        })
        .await;
        let latency = started.elapsed();
        let result = match answer {
            Ok(answer) => judge(service, &answer, latency),
            Err((kind, message)) => {
                SubResult::new(Status::Unhealthy, latency, message).with("error", kind)
            }
        };
        // Belt and braces: no text from the server may carry the key back.
        let key = self.api_key.expose();
        SubResult {
            message: result.message.replace(key, "***"),
            ..result
        }
    }
}

/// One service's answer judged: what a healthy service says, or why it is not.
fn judge(service: SupabaseService, answer: &ApiAnswer, latency: Duration) -> SubResult {
    let code = answer.status.as_u16();
    let took = format_latency(latency);
    let result = |status, message: String| {
        SubResult::new(status, latency, message).with("status_code", code)
    };
    let json_answer = answer
        .content_type
        .as_deref()
        .is_some_and(|t| t.contains("json"));
    match (service, answer.status) {
        (SupabaseService::Rest, StatusCode::OK) if json_answer => result(
            Status::Healthy,
            format!("HTTP 200 in {took}, the OpenAPI description served"),
        ),
        // The gateway accepted the key; the description itself is for secret keys only.
        (SupabaseService::Rest, StatusCode::FORBIDDEN) => result(
            Status::Healthy,
            format!(
                "HTTP 403 in {took}: the key is accepted; the OpenAPI description is for secret keys"
            ),
        ),
        (SupabaseService::Auth, StatusCode::OK) => {
            match serde_json::from_slice::<GoTrueHealth>(&answer.body) {
                Ok(health) => {
                    let name = health.name.unwrap_or_else(|| "Auth".to_owned());
                    let version = health.version.unwrap_or_default();
                    result(
                        Status::Healthy,
                        format!("HTTP 200 in {took}, {name} {version}")
                            .trim_end()
                            .to_owned(),
                    )
                    .with("name", name)
                    .with("version", version)
                }
                Err(_) => result(
                    Status::Unhealthy,
                    format!(
                        "HTTP 200 in {took}, but not {}: {}",
                        service.expected(),
                        answer_message(&answer.body)
                    ),
                ),
            }
        }
        (_, status) if status.is_success() => result(
            Status::Unhealthy,
            format!("HTTP {code} in {took}, but not {}", service.expected()),
        ),
        (_, status) => {
            let said = answer_message(&answer.body);
            let reason = status.canonical_reason().unwrap_or("");
            let said = if said.is_empty() {
                reason.to_owned()
            } else {
                said
            };
            result(Status::Unhealthy, format!("HTTP {code}: {said}"))
        }
    }
}

/// The fields of GoTrue's `GET /health` answer the check shows.
#[derive(Debug, Deserialize)]
struct GoTrueHealth {
    version: Option<String>,
    name: Option<String>,
}

#[async_trait]
impl HealthCheck for SupabaseCheck {
    fn kind(&self) -> &str {
        "supabase"
    }

    async fn check(&self) -> CheckOutcome {
        let started = Instant::now();
        let (rest, auth) = tokio::join!(
            self.probed(SupabaseService::Rest),
            self.probed(SupabaseService::Auth)
        );
        let latency = started.elapsed();
        let parts: Vec<(String, SubResult)> = [rest, auth].into_iter().flatten().collect();
        let (status, message, services) = combine("Supabase", &parts, latency);
        CheckOutcome::new(status, latency, message).with_details(json!({
            "url": self.display_url,
            "services": services,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{run_with_secret, shown};
    use axum::Router;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode as Code};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use std::net::SocketAddr;
    use std::sync::Mutex;

    /// A legacy `anon` key (a JWT) and a new secret key; both planted, so a leak is found.
    const ANON: &str = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.PLNTanonSignature";
    const SECRET: &str = "sb_secret_PLNTsecretKey0123456789";

    /// A Supabase project's API gateway on loopback that answers as the documented
    /// services do, and refuses what they refuse:
    ///
    /// - The key goes in the `apikey` header; a legacy JWT key may also be sent as
    ///   `Authorization: Bearer <key>`, a new `sb_…` key may not (Supabase docs, "API
    ///   keys", supabase.com/docs/guides/api/api-keys; KB "401 UNAUTHORIZED_MISSING_API_KEY").
    ///   Without it the gateway answers 401 `{"message":"No API key found in request",
    ///   "hint":…}`; with a wrong one 401 `{"message":"Invalid API key","hint":…}`.
    /// - Data API: `GET /rest/v1/` answers PostgREST's OpenAPI description
    ///   (`application/openapi+json`) to a secret / service_role key, and 403 to any other
    ///   valid key (the platform's root restriction, supabase/supabase#45462).
    /// - Auth: `GET /auth/v1/health` answers 200 `{"version","name":"GoTrue",
    ///   "description"}` (GoTrue's health handler, as GoTrue clients' tests read it).
    /// - Only `GET`; `auth_down` makes Auth answer the gateway's 502 for a dead upstream.
    #[derive(Default)]
    struct Fake {
        auth_down: bool,
        /// `METHOD path` of every request.
        seen: Mutex<Vec<String>>,
    }

    /// A gateway refusal: status, message, hint.
    type Refusal = (Code, &'static str, &'static str);

    fn refuse((code, message, hint): Refusal) -> Response {
        (code, axum::Json(json!({"message": message, "hint": hint}))).into_response()
    }

    /// The gateway's key check: `Ok(privileged)` for a valid key.
    fn gateway(headers: &HeaderMap) -> Result<bool, Refusal> {
        let Some(key) = headers.get("apikey").and_then(|v| v.to_str().ok()) else {
            return Err((
                Code::UNAUTHORIZED,
                "No API key found in request",
                "No `apikey` request header or url param was found.",
            ));
        };
        if key != ANON && key != SECRET {
            return Err((
                Code::UNAUTHORIZED,
                "Invalid API key",
                "Double check your Supabase `anon` or `service_role` API key.",
            ));
        }
        if let Some(auth) = headers.get("authorization") {
            let bearer = auth.to_str().ok().and_then(|a| a.strip_prefix("Bearer "));
            if key.starts_with("sb_") || bearer != Some(key) {
                return Err((
                    Code::UNAUTHORIZED,
                    "Invalid JWT",
                    "Send a secret key in the apikey header only.",
                ));
            }
        }
        Ok(key == SECRET)
    }

    async fn rest(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
        fake.seen.lock().unwrap().push("GET /rest/v1/".into());
        match gateway(&headers) {
            Err(refused) => refuse(refused),
            Ok(false) => refuse((
                Code::FORBIDDEN,
                "Access to the schema is restricted to secret keys",
                "Use a secret key",
            )),
            Ok(true) => (
                [("content-type", "application/openapi+json; charset=utf-8")],
                r#"{"swagger":"2.0","info":{"title":"standard public schema","version":"12.2.3"},"paths":{"/":{}}}"#,
            )
                .into_response(),
        }
    }

    async fn auth_health(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
        fake.seen.lock().unwrap().push("GET /auth/v1/health".into());
        if let Err(refused) = gateway(&headers) {
            return refuse(refused);
        }
        if fake.auth_down {
            return (
                Code::BAD_GATEWAY,
                axum::Json(
                    json!({"message": "An invalid response was received from the upstream server"}),
                ),
            )
                .into_response();
        }
        axum::Json(json!({
            "version": "v2.170.0",
            "name": "GoTrue",
            "description": "GoTrue is a user registration and authentication API"
        }))
        .into_response()
    }

    async fn serve(fake: Fake) -> (SocketAddr, Arc<Fake>) {
        let fake = Arc::new(fake);
        let app = Router::new()
            .route("/rest/v1/", get(rest))
            .route("/auth/v1/health", get(auth_health))
            .with_state(Arc::clone(&fake));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (addr, fake)
    }

    fn config(url: &str, key: &str) -> SupabaseCheckConfig {
        SupabaseCheckConfig {
            url: url.parse().unwrap(),
            api_key: Secret::new(key),
            services: SupabaseService::all(),
            verify_tls: true,
        }
    }

    async fn probe(config: &SupabaseCheckConfig) -> CheckOutcome {
        let secret = ("api_key", &config.api_key);
        run_with_secret("supabase", config, secret, Duration::from_secs(5)).await
    }

    #[tokio::test]
    async fn the_fake_refuses_what_the_gateway_refuses() {
        let (addr, _) = serve(Fake::default()).await;
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/rest/v1/");
        // (apikey, authorization, status, message)
        let cases = [
            (None, None, 401, "No API key found in request"),
            (Some("nope"), None, 401, "Invalid API key"),
            (
                Some(SECRET),
                Some(format!("Bearer {SECRET}")),
                401,
                "Invalid JWT",
            ),
            (
                Some(ANON),
                Some("Bearer other".to_owned()),
                401,
                "Invalid JWT",
            ),
            (
                Some(ANON),
                Some(format!("Bearer {ANON}")),
                403,
                "restricted",
            ),
            (Some(SECRET), None, 200, "swagger"),
        ];
        for (key, authorization, want, text) in cases {
            let mut request = client.get(&url);
            if let Some(key) = key {
                request = request.header("apikey", key);
            }
            if let Some(authorization) = &authorization {
                request = request.header("authorization", authorization);
            }
            let answer = request.send().await.unwrap();
            assert_eq!(answer.status().as_u16(), want, "{key:?} {authorization:?}");
            assert!(answer.text().await.unwrap().contains(text), "{key:?}");
        }
        let answer = client
            .post(&url)
            .header("apikey", SECRET)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 405);
    }

    #[tokio::test]
    async fn a_secret_key_sees_both_services_up() {
        let (addr, fake) = serve(Fake::default()).await;
        let outcome = probe(&config(&format!("http://{addr}"), SECRET)).await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        assert!(
            outcome
                .message
                .starts_with("Supabase: rest, auth healthy in "),
            "{}",
            outcome.message
        );
        let services = &outcome.details["services"];
        assert_eq!(services["rest"]["status"], "healthy", "{services}");
        assert_eq!(services["rest"]["status_code"], 200);
        assert_eq!(services["auth"]["status"], "healthy");
        assert_eq!(services["auth"]["name"], "GoTrue");
        assert_eq!(services["auth"]["version"], "v2.170.0");
        for service in ["rest", "auth"] {
            assert!(services[service]["latency_ms"].as_f64().unwrap() > 0.0);
        }
        assert_eq!(outcome.details["url"], format!("http://{addr}/"));
        let mut seen = fake.seen.lock().unwrap().clone();
        seen.sort();
        assert_eq!(seen, ["GET /auth/v1/health", "GET /rest/v1/"]);
    }

    #[tokio::test]
    async fn an_anon_key_is_accepted_where_the_schema_is_restricted() {
        let (addr, _) = serve(Fake::default()).await;
        let outcome = probe(&config(&format!("http://{addr}"), ANON)).await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        let rest = &outcome.details["services"]["rest"];
        assert_eq!(rest["status_code"], 403);
        assert!(
            rest["message"]
                .as_str()
                .unwrap()
                .contains("the key is accepted"),
            "{rest}"
        );
    }

    #[tokio::test]
    async fn a_wrong_key_is_down_with_the_gateways_message_and_no_key() {
        let (addr, _) = serve(Fake::default()).await;
        for key in [
            "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.PLNTwrongSignature",
            "sb_publishable_PLNTwrongKey",
        ] {
            let config = config(&format!("http://{addr}"), key);
            let outcome = probe(&config).await;
            assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
            assert!(
                outcome
                    .message
                    .contains("rest unhealthy (HTTP 401: Invalid API key)")
                    && outcome
                        .message
                        .contains("auth unhealthy (HTTP 401: Invalid API key)"),
                "{}",
                outcome.message
            );
            assert_eq!(outcome.details["services"]["auth"]["status_code"], 401);
            let shown = shown(&config, &outcome);
            assert!(!shown.contains("PLNT"), "the key leaked: {shown}");
        }
    }

    #[tokio::test]
    async fn one_service_down_names_it_and_keeps_the_other() {
        let (addr, _) = serve(Fake {
            auth_down: true,
            ..Fake::default()
        })
        .await;
        let config = config(&format!("http://{addr}"), SECRET);
        let outcome = probe(&config).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert!(
            outcome.message.contains(
                "auth unhealthy (HTTP 502: An invalid response was received from the upstream server)"
            ),
            "{}",
            outcome.message
        );
        assert!(!outcome.message.contains("rest"), "{}", outcome.message);
        assert_eq!(outcome.details["services"]["rest"]["status"], "healthy");
        assert_eq!(outcome.details["services"]["auth"]["status_code"], 502);
        assert!(!shown(&config, &outcome).contains("PLNT"));
    }

    #[tokio::test]
    async fn only_the_chosen_services_are_probed() {
        let (addr, fake) = serve(Fake {
            auth_down: true,
            ..Fake::default()
        })
        .await;
        let mut config = config(&format!("http://{addr}"), SECRET);
        config.services = vec![SupabaseService::Rest];
        let outcome = probe(&config).await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        assert_eq!(outcome.details["services"]["auth"], serde_json::Value::Null);
        assert_eq!(*fake.seen.lock().unwrap(), ["GET /rest/v1/"]);
    }

    #[tokio::test]
    async fn a_path_prefix_is_kept_and_a_closed_port_is_down() {
        let (addr, fake) = serve(Fake::default()).await;
        // A self-hosted gateway under a prefix: the fake has none, so both paths miss.
        let outcome = probe(&config(&format!("http://{addr}/base/"), SECRET)).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert_eq!(outcome.details["services"]["rest"]["status_code"], 404);
        assert!(fake.seen.lock().unwrap().is_empty());

        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let outcome = probe(&config(&format!("http://{closed}"), SECRET)).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert_eq!(outcome.details["services"]["rest"]["error"], "connect");
        assert!(
            outcome
                .message
                .contains("rest unhealthy (connection failed: "),
            "{}",
            outcome.message
        );
    }

    #[tokio::test]
    async fn a_server_that_is_not_supabase_is_down() {
        // Answers 200 `ok` (text) to everything, as a plain web server might.
        let app = Router::new().fallback(|| async { "ok" });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let outcome = probe(&config(&format!("http://{addr}"), SECRET)).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        let services = &outcome.details["services"];
        let message = |s: &str| services[s]["message"].as_str().unwrap().to_owned();
        assert!(
            message("rest").ends_with("but not the OpenAPI description (JSON)"),
            "{services}"
        );
        assert!(
            message("auth").ends_with("but not the Auth health answer (JSON): ok"),
            "{services}"
        );
    }

    #[test]
    fn config_errors_name_the_field() {
        type Tweak = fn(&mut SupabaseCheckConfig);
        // (tweak, field, text in the error)
        let cases: [(Tweak, &str, &str); 7] = [
            (
                |c| c.url = "ftp://x.supabase.co".parse().unwrap(),
                "url",
                "unsupported scheme \"ftp\"",
            ),
            (
                |c| c.url = "https://x.supabase.co/rest/v1".parse().unwrap(),
                "url",
                "without /rest/v1",
            ),
            (
                |c| c.url = "https://x.supabase.co/?apikey=k".parse().unwrap(),
                "url",
                "has a query",
            ),
            (|c| c.api_key = Secret::new(" "), "api_key", "is empty"),
            (
                |c| c.api_key = Secret::new("a\nb"),
                "api_key",
                "header value",
            ),
            (|c| c.services.clear(), "services", "is empty"),
            (
                |c| c.services = vec![SupabaseService::Auth, SupabaseService::Auth],
                "services[1]",
                "auth is listed twice",
            ),
        ];
        for (tweak, field, text) in cases {
            let mut config = config("https://x.supabase.co", SECRET);
            tweak(&mut config);
            let err = config.validate("db").unwrap_err().to_string();
            assert!(err.contains(&format!("invalid `{field}`")), "{err}");
            assert!(err.contains(text), "{err}");
            assert!(!err.contains("PLNT"), "{err}");
        }
        config("https://x.supabase.co", SECRET)
            .validate("db")
            .unwrap();
    }
}
