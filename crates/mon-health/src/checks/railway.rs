//! `type: railway`: asks Railway's public GraphQL API for the latest deployment of each
//! service of a project, one sub-result per service, on the `http` kind's client.

use super::common::{SubResult, answer_message, combine, format_latency, redact_url};
use super::http::{ClientSettings, call, validate_http_url};
use super::{BuildContext, KindConfig, error_chain, first_repeat, validate_header_secret};
use crate::HealthError;
use mon_core::{CheckOutcome, HealthCheck, Secret, Status, async_trait};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// Settings of a `railway` check.
///
/// ```yaml
/// - name: railway
///   type: railway
///   project_id: 7f3c9a8e-2b1d-4c5e-9f0a-1b2c3d4e5f60
///   token: ${RAILWAY_TOKEN}          # a project token (token_kind: project, the default)
///   environment_id: 0a1b2c3d-...      # optional: only this environment's deployments
///   services: [api, worker]           # optional: only these services (default: all)
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RailwayCheckConfig {
    /// The project's id (Project Settings, or `railway status --json`).
    pub project_id: String,
    /// The API token. Write it as `${VAR}`; it never appears in outcomes, logs or API
    /// answers.
    pub token: Secret,
    /// What `token` is (default `project`): `project`, a project token, sent as
    /// `Project-Access-Token`; `account`, an account or workspace token, sent as
    /// `Authorization: Bearer`.
    #[serde(default)]
    pub token_kind: RailwayTokenKind,
    /// Only deployments in this environment count (default: each service's most recent
    /// deployment in any environment).
    #[serde(default)]
    pub environment_id: Option<String>,
    /// Only these services, by name (default: every service of the project). A listed
    /// service the project does not have is reported as unhealthy.
    #[serde(default)]
    pub services: Vec<String>,
    /// The GraphQL endpoint (default Railway's public API,
    /// `https://backboard.railway.com/graphql/v2`).
    #[serde(default = "default_endpoint")]
    pub endpoint: Url,
}

/// Railway's public GraphQL API.
const DEFAULT_ENDPOINT: &str = "https://backboard.railway.com/graphql/v2";

fn default_endpoint() -> Url {
    Url::parse(DEFAULT_ENDPOINT).expect("the default endpoint is a URL")
}

/// What kind of token a `railway` check sends, and so in which header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RailwayTokenKind {
    /// A project token (scoped to one environment of one project): `Project-Access-Token`.
    #[default]
    Project,
    /// An account or workspace token: `Authorization: Bearer`.
    Account,
}

/// Hides the token (a `Secret` prints `***` anyway) and the endpoint's credentials.
impl fmt::Debug for RailwayCheckConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RailwayCheckConfig")
            .field("project_id", &self.project_id)
            .field("token", &self.token)
            .field("token_kind", &self.token_kind)
            .field("environment_id", &self.environment_id)
            .field("services", &self.services)
            .field("endpoint", &redact_url(&self.endpoint))
            .finish()
    }
}

/// Whether `id` can be a Railway id: letters, digits and `-` (Railway's are UUIDs).
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl KindConfig for RailwayCheckConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        if !valid_id(&self.project_id) {
            return Err(HealthError::invalid(
                check,
                "project_id",
                format!(
                    "{:?} is not a Railway project id; copy it from the project's settings, such as 7f3c9a8e-2b1d-4c5e-9f0a-1b2c3d4e5f60",
                    self.project_id
                ),
            ));
        }
        if let Some(environment) = &self.environment_id
            && !valid_id(environment)
        {
            return Err(HealthError::invalid(
                check,
                "environment_id",
                format!(
                    "{environment:?} is not a Railway environment id; copy it from the environment's settings (or leave it out)"
                ),
            ));
        }
        validate_header_secret(check, "token", &self.token, "RAILWAY_TOKEN")?;
        if let Some(i) = self.services.iter().position(|s| s.trim().is_empty()) {
            return Err(HealthError::invalid(
                check,
                format!("services[{i}]"),
                "is empty; write a service name as Railway shows it",
            ));
        }
        if let Some((i, service)) = first_repeat(&self.services) {
            return Err(HealthError::invalid(
                check,
                format!("services[{i}]"),
                format!("{service:?} is listed twice"),
            ));
        }
        validate_http_url(check, "endpoint", &self.endpoint)
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError> {
        let build_error = |message: String| HealthError::Build {
            check: ctx.name.to_owned(),
            kind: "railway".to_owned(),
            message,
        };
        let client = ClientSettings {
            verify_tls: true,
            // A redirect would carry the token to another place: judged as an answer instead.
            follow_redirects: false,
            keep_alive: false,
        }
        .shared_client()
        .map_err(|e| build_error(error_chain(&e)))?;
        let (header, value) = match self.token_kind {
            RailwayTokenKind::Project => (
                HeaderName::from_static("project-access-token"),
                HeaderValue::from_str(self.token.expose()),
            ),
            RailwayTokenKind::Account => (
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {}", self.token.expose())),
            ),
        };
        let mut value =
            value.map_err(|_| build_error("the token is not a usable header value".to_owned()))?;
        value.set_sensitive(true);
        Ok(Arc::new(RailwayCheck {
            client,
            endpoint: self.endpoint.clone(),
            display_endpoint: redact_url(&self.endpoint),
            token: self.token.clone(),
            auth: (header, value),
            project_id: self.project_id.clone(),
            environment_id: self.environment_id.clone(),
            services: self.services.clone(),
            timeout: ctx.request_deadline(),
        }))
    }
}

/// The one query the check sends: the project's services, each with its service
/// instances (one per environment) and their latest deployment.
pub(crate) const QUERY: &str = "query monRailwayCheck($id: String!) {
  project(id: $id) {
    name
    services {
      edges {
        node {
          id
          name
          serviceInstances {
            edges {
              node {
                environmentId
                latestDeployment { id status createdAt }
              }
            }
          }
        }
      }
    }
  }
}";

/// A built `railway` check.
struct RailwayCheck {
    client: reqwest::Client,
    endpoint: Url,
    display_endpoint: String,
    token: Secret,
    /// The token's header and value (marked sensitive).
    auth: (HeaderName, HeaderValue),
    project_id: String,
    environment_id: Option<String>,
    services: Vec<String>,
    timeout: Duration,
}

/// The answer of a GraphQL request: `data`, `errors`, or both.
#[derive(Debug, Deserialize)]
struct GraphqlAnswer {
    data: Option<Data>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

#[derive(Debug, Deserialize)]
struct GraphqlError {
    message: String,
}

#[derive(Debug, Deserialize)]
struct Data {
    project: Option<Project>,
}

#[derive(Debug, Deserialize)]
struct Project {
    name: Option<String>,
    services: Connection<Service>,
}

/// A Relay connection: `edges[].node`.
#[derive(Debug, Deserialize)]
struct Connection<T> {
    edges: Vec<Edge<T>>,
}

#[derive(Debug, Deserialize)]
struct Edge<T> {
    node: T,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Service {
    id: String,
    name: String,
    service_instances: Connection<ServiceInstance>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceInstance {
    environment_id: String,
    latest_deployment: Option<Deployment>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Deployment {
    id: String,
    /// A `DeploymentStatus` enum value.
    status: String,
    /// RFC 3339, so the most recent sorts last.
    created_at: String,
}

/// What a `DeploymentStatus` means for the service, and a word for people.
fn classify(status: &str) -> (Status, &'static str) {
    match status {
        "SUCCESS" => (Status::Healthy, "running"),
        // Serverless: the service sleeps when idle and wakes on the next request.
        "SLEEPING" => (Status::Healthy, "sleeping until the next request"),
        "BUILDING" | "DEPLOYING" | "INITIALIZING" | "QUEUED" | "WAITING" | "NEEDS_APPROVAL" => {
            (Status::Degraded, "a deployment is in progress")
        }
        // The latest was skipped: whether an older one still runs cannot be told from it.
        "SKIPPED" => (Status::Degraded, "the latest deployment was skipped"),
        "FAILED" => (Status::Unhealthy, "the latest deployment failed"),
        "CRASHED" => (Status::Unhealthy, "the service crashed"),
        "REMOVED" | "REMOVING" => (Status::Unhealthy, "the deployment was removed"),
        _ => (Status::Degraded, "a deployment status mon does not know"),
    }
}

impl RailwayCheck {
    /// The service's sub-result from its instances' latest deployments.
    fn judge(&self, service: &Service, latency: Duration) -> SubResult {
        let latest = service
            .service_instances
            .edges
            .iter()
            .map(|e| &e.node)
            .filter(|i| {
                self.environment_id
                    .as_deref()
                    .is_none_or(|env| i.environment_id == env)
            })
            .filter_map(|i| i.latest_deployment.as_ref().map(|d| (i, d)))
            .max_by(|(_, a), (_, b)| a.created_at.cmp(&b.created_at));
        let Some((instance, deployment)) = latest else {
            let message = match &self.environment_id {
                Some(env) => format!("no deployment in environment {env}"),
                None => "no deployment".to_owned(),
            };
            return SubResult::new(Status::Unhealthy, latency, message)
                .with("service_id", service.id.as_str());
        };
        let (status, meaning) = classify(&deployment.status);
        SubResult::new(status, latency, format!("{}: {meaning}", deployment.status))
            .with("service_id", service.id.as_str())
            .with("deployment_id", deployment.id.as_str())
            .with("deployment_status", deployment.status.as_str())
            .with("created_at", deployment.created_at.as_str())
            .with("environment_id", instance.environment_id.as_str())
    }

    /// The project from the API, or why there is none.
    async fn query(&self) -> Result<Project, String> {
        let body = json!({"query": QUERY, "variables": {"id": self.project_id}});
        let request = self
            .client
            .post(self.endpoint.clone())
            .header(self.auth.0.clone(), self.auth.1.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string());
        let answer = call(request, self.timeout, |_| true)
            .await
            .map_err(|(_, message)| message)?;
        let code = answer.status.as_u16();
        if answer.status != StatusCode::OK {
            return Err(format!("HTTP {code}: {}", answer_message(&answer.body)));
        }
        let parsed: GraphqlAnswer = serde_json::from_slice(&answer.body)
            .map_err(|e| format!("HTTP 200 but not the expected GraphQL answer: {e}"))?;
        if !parsed.errors.is_empty() {
            let messages: Vec<&str> = parsed.errors.iter().map(|e| e.message.as_str()).collect();
            return Err(format!("Railway API error: {}", messages.join("; ")));
        }
        parsed
            .data
            .and_then(|d| d.project)
            .ok_or_else(|| format!("project {} not found", self.project_id))
    }
}

#[async_trait]
impl HealthCheck for RailwayCheck {
    fn kind(&self) -> &str {
        "railway"
    }

    async fn check(&self) -> CheckOutcome {
        let started = Instant::now();
        let queried = self.query().await;
        let latency = started.elapsed();
        let details = |services: serde_json::Value, project: Option<&str>| {
            json!({
                "endpoint": self.display_endpoint,
                "project_id": self.project_id,
                "project": project,
                "services": services,
            })
        };
        let project = match queried {
            Ok(project) => project,
            Err(message) => {
                // Belt and braces: no text from the server may carry the token back.
                let message = message.replace(self.token.expose(), "***");
                return CheckOutcome::unhealthy(latency, message)
                    .with_details(details(json!({}), None));
            }
        };
        let nodes: Vec<&Service> = project.services.edges.iter().map(|e| &e.node).collect();
        let mut parts: Vec<(String, SubResult)> = Vec::new();
        if self.services.is_empty() {
            for service in &nodes {
                parts.push((service.name.clone(), self.judge(service, latency)));
            }
        } else {
            for name in &self.services {
                let result = match nodes.iter().find(|s| &s.name == name) {
                    Some(service) => self.judge(service, latency),
                    None => SubResult::new(
                        Status::Unhealthy,
                        latency,
                        "the project has no service of this name",
                    ),
                };
                parts.push((name.clone(), result));
            }
        }
        if parts.is_empty() {
            return CheckOutcome::unhealthy(
                latency,
                format!(
                    "the project has no services (answered in {})",
                    format_latency(latency)
                ),
            )
            .with_details(details(json!({}), project.name.as_deref()));
        }
        let (status, message, services) = combine("Railway", &parts, latency);
        CheckOutcome::new(status, latency, message)
            .with_details(details(services, project.name.as_deref()))
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
    use axum::routing::post;
    use serde_json::Value;
    use std::net::SocketAddr;

    const TOKEN: &str = "PLNTrailwayToken-0123456789";
    const PROJECT: &str = "7f3c9a8e-2b1d-4c5e-9f0a-1b2c3d4e5f60";
    const PRODUCTION: &str = "env-production";
    const STAGING: &str = "env-staging";

    /// One service of the fake project: its name and, per environment, the latest
    /// deployment's `(status, createdAt)` if it has one.
    type FakeService = (
        &'static str,
        Vec<(&'static str, Option<(&'static str, &'static str)>)>,
    );

    /// Railway's public GraphQL API on loopback, answering as documented
    /// (docs.railway.com/reference/public-api; "Introduction to GraphQL" for the
    /// `project(id) { services { edges { node … } } }` shape; the CLI's queries for
    /// `serviceInstances` / `latestDeployment { id status createdAt }` and the
    /// `DeploymentStatus` values) and refusing what it refuses:
    ///
    /// - only `POST` (anything else 405) with `Content-Type: application/json`
    ///   (anything else 415), a body `{"query": "<document>", "variables": {"id": …}}`
    ///   whose document is a query declaring `$id: String!` and asking `project(id: $id)`
    ///   (anything else 400 with a GraphQL `errors` list);
    /// - a project token in `Project-Access-Token`, an account token as
    ///   `Authorization: Bearer`; a missing or wrong token is answered as Railway does,
    ///   HTTP 200 with `{"data":null,"errors":[{"message":"Not Authorized"}]}`;
    /// - an unknown project id: HTTP 200, `errors: [{"message":"Project not found"}]`.
    struct Fake {
        kind: RailwayTokenKind,
        services: Vec<FakeService>,
    }

    fn graphql_error(code: Code, message: &str) -> Response {
        (
            code,
            axum::Json(json!({"data": null, "errors": [{"message": message, "locations": [], "path": ["project"]}]})),
        )
            .into_response()
    }

    async fn graphql(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: String) -> Response {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if !header("content-type").is_some_and(|t| t.starts_with("application/json")) {
            return graphql_error(Code::UNSUPPORTED_MEDIA_TYPE, "Unsupported content type");
        }
        let Ok(request) = serde_json::from_str::<Value>(&body) else {
            return graphql_error(Code::BAD_REQUEST, "Body is not JSON");
        };
        let Some(query) = request["query"].as_str() else {
            return graphql_error(Code::BAD_REQUEST, "Must provide query string.");
        };
        let document = query.split_whitespace().collect::<Vec<_>>().join(" ");
        let asks = [
            "($id: String!)",
            "project(id: $id) {",
            "services { edges { node {",
            "serviceInstances { edges { node {",
            "latestDeployment { id status createdAt }",
        ];
        if !document.starts_with("query ") || asks.iter().any(|a| !document.contains(a)) {
            return graphql_error(Code::BAD_REQUEST, "Syntax Error: unexpected document");
        }
        let variables = request["variables"].as_object();
        let Some(id) = variables
            .filter(|v| v.len() == 1)
            .and_then(|v| v.get("id"))
            .and_then(Value::as_str)
        else {
            return graphql_error(
                Code::BAD_REQUEST,
                "Variable \"$id\" of required type \"String!\" was not provided.",
            );
        };
        let authorized = match fake.kind {
            RailwayTokenKind::Project => {
                header("project-access-token") == Some(TOKEN) && header("authorization").is_none()
            }
            RailwayTokenKind::Account => {
                header("authorization") == Some(&format!("Bearer {TOKEN}"))
                    && header("project-access-token").is_none()
            }
        };
        if !authorized {
            return graphql_error(Code::OK, "Not Authorized");
        }
        if id != PROJECT {
            return graphql_error(Code::OK, "Project not found");
        }
        let edges: Vec<Value> = fake
            .services
            .iter()
            .enumerate()
            .map(|(i, (name, instances))| {
                let instances: Vec<Value> = instances
                    .iter()
                    .map(|(env, latest)| {
                        let deployment = latest.map(|(status, at)| {
                            json!({"id": format!("dep-{name}-{env}"), "status": status, "createdAt": at})
                        });
                        json!({"node": {"environmentId": env, "latestDeployment": deployment}})
                    })
                    .collect();
                json!({"node": {
                    "id": format!("svc-{i}"),
                    "name": name,
                    "serviceInstances": {"edges": instances},
                }})
            })
            .collect();
        axum::Json(json!({"data": {"project": {"name": "voice", "services": {"edges": edges}}}}))
            .into_response()
    }

    async fn serve(kind: RailwayTokenKind, services: Vec<FakeService>) -> SocketAddr {
        let fake = Arc::new(Fake { kind, services });
        let app = Router::new()
            .route("/graphql/v2", post(graphql))
            .with_state(fake);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    fn config(addr: SocketAddr) -> RailwayCheckConfig {
        RailwayCheckConfig {
            project_id: PROJECT.to_owned(),
            token: Secret::new(TOKEN),
            token_kind: RailwayTokenKind::Project,
            environment_id: None,
            services: Vec::new(),
            endpoint: format!("http://{addr}/graphql/v2").parse().unwrap(),
        }
    }

    async fn probe(config: &RailwayCheckConfig) -> CheckOutcome {
        let secret = ("token", &config.token);
        run_with_secret("railway", config, secret, Duration::from_secs(5)).await
    }

    fn running() -> Vec<FakeService> {
        vec![
            (
                "api",
                vec![(PRODUCTION, Some(("SUCCESS", "2026-12-01T10:00:00.000Z")))],
            ),
            (
                "worker",
                vec![(PRODUCTION, Some(("SLEEPING", "2026-11-30T08:00:00.000Z")))],
            ),
        ]
    }

    #[tokio::test]
    async fn the_fake_refuses_what_the_api_refuses() {
        let addr = serve(RailwayTokenKind::Project, running()).await;
        let url = format!("http://{addr}/graphql/v2");
        let client = reqwest::Client::new();
        let good = json!({"query": QUERY, "variables": {"id": PROJECT}}).to_string();
        let send =
            |method: reqwest::Method, content_type: &str, token: Option<&str>, body: String| {
                let mut request = client
                    .request(method, &url)
                    .header("content-type", content_type)
                    .body(body);
                if let Some(token) = token {
                    request = request.header("project-access-token", token);
                }
                request.send()
            };
        // (method, content type, token, body, status, text in the answer)
        let cases = [
            (
                reqwest::Method::GET,
                "application/json",
                Some(TOKEN),
                good.clone(),
                405,
                "",
            ),
            (
                reqwest::Method::POST,
                "text/plain",
                Some(TOKEN),
                good.clone(),
                415,
                "content type",
            ),
            (
                reqwest::Method::POST,
                "application/json",
                Some(TOKEN),
                "{}".to_owned(),
                400,
                "Must provide query string",
            ),
            (
                reqwest::Method::POST,
                "application/json",
                Some(TOKEN),
                json!({"query": "{ me { name } }", "variables": {"id": PROJECT}}).to_string(),
                400,
                "Syntax Error",
            ),
            (
                reqwest::Method::POST,
                "application/json",
                Some(TOKEN),
                json!({"query": QUERY, "variables": {}}).to_string(),
                400,
                "was not provided",
            ),
            (
                reqwest::Method::POST,
                "application/json",
                None,
                good.clone(),
                200,
                "Not Authorized",
            ),
            (
                reqwest::Method::POST,
                "application/json",
                Some("wrong"),
                good.clone(),
                200,
                "Not Authorized",
            ),
            (
                reqwest::Method::POST,
                "application/json",
                Some(TOKEN),
                good.clone(),
                200,
                "\"SUCCESS\"",
            ),
        ];
        for (method, content_type, token, body, want, text) in cases {
            let answer = send(method.clone(), content_type, token, body.clone())
                .await
                .unwrap();
            assert_eq!(
                answer.status().as_u16(),
                want,
                "{method} {content_type} {token:?} {body}"
            );
            assert!(answer.text().await.unwrap().contains(text), "{body}");
        }
    }

    #[tokio::test]
    async fn running_and_sleeping_services_are_up_one_sub_result_each() {
        let addr = serve(RailwayTokenKind::Project, running()).await;
        let outcome = probe(&config(addr)).await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        assert!(
            outcome
                .message
                .starts_with("Railway: api, worker healthy in "),
            "{}",
            outcome.message
        );
        let services = &outcome.details["services"];
        assert_eq!(services["api"]["status"], "healthy", "{services}");
        assert_eq!(services["api"]["deployment_status"], "SUCCESS");
        assert_eq!(services["api"]["deployment_id"], "dep-api-env-production");
        assert_eq!(services["api"]["environment_id"], PRODUCTION);
        assert_eq!(services["worker"]["deployment_status"], "SLEEPING");
        assert_eq!(services["worker"]["status"], "healthy");
        assert_eq!(outcome.details["project"], "voice");
    }

    #[tokio::test]
    async fn a_failed_or_crashed_deployment_is_down_naming_the_service() {
        for (status, meaning) in [
            ("FAILED", "the latest deployment failed"),
            ("CRASHED", "the service crashed"),
        ] {
            let mut services = running();
            services.push((
                "voice-agent",
                vec![(PRODUCTION, Some((status, "2026-12-01T11:00:00.000Z")))],
            ));
            let addr = serve(RailwayTokenKind::Project, services).await;
            let outcome = probe(&config(addr)).await;
            assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
            assert!(
                outcome
                    .message
                    .contains(&format!("voice-agent unhealthy ({status}: {meaning})")),
                "{}",
                outcome.message
            );
            assert!(!outcome.message.contains("api"), "{}", outcome.message);
            assert_eq!(outcome.details["services"]["api"]["status"], "healthy");
        }
    }

    #[tokio::test]
    async fn a_build_in_progress_is_degraded() {
        let mut services = running();
        services[0].1 = vec![(PRODUCTION, Some(("BUILDING", "2026-12-01T12:00:00.000Z")))];
        let addr = serve(RailwayTokenKind::Project, services).await;
        let outcome = probe(&config(addr)).await;
        assert_eq!(outcome.status, Status::Degraded, "{outcome:?}");
        assert!(
            outcome
                .message
                .contains("api degraded (BUILDING: a deployment is in progress)"),
            "{}",
            outcome.message
        );
    }

    #[tokio::test]
    async fn a_wrong_token_is_down_with_the_apis_message_and_no_token() {
        let addr = serve(RailwayTokenKind::Project, running()).await;
        let mut config = config(addr);
        config.token = Secret::new("PLNTwrongToken");
        let outcome = probe(&config).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert_eq!(outcome.message, "Railway API error: Not Authorized");
        assert_eq!(outcome.details["services"], json!({}));
        let seen = shown(&config, &outcome);
        assert!(!seen.contains("PLNT"), "the token leaked: {seen}");

        // A project token sent to an API that expects an account token is refused too.
        let addr = serve(RailwayTokenKind::Account, running()).await;
        let outcome = probe(&self::config(addr)).await;
        assert_eq!(outcome.message, "Railway API error: Not Authorized");
        let mut account = self::config(addr);
        account.token_kind = RailwayTokenKind::Account;
        let outcome = probe(&account).await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        assert!(!shown(&account, &outcome).contains("PLNT"));
    }

    #[tokio::test]
    async fn an_unknown_project_is_down_with_the_apis_message() {
        let addr = serve(RailwayTokenKind::Project, running()).await;
        let mut config = config(addr);
        config.project_id = "0000-unknown".to_owned();
        let outcome = probe(&config).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert_eq!(outcome.message, "Railway API error: Project not found");
    }

    #[tokio::test]
    async fn services_and_environment_choose_what_is_judged() {
        let services: Vec<FakeService> = vec![
            (
                "api",
                vec![
                    (PRODUCTION, Some(("SUCCESS", "2026-12-01T10:00:00.000Z"))),
                    (STAGING, Some(("CRASHED", "2026-12-01T11:00:00.000Z"))),
                ],
            ),
            ("worker", vec![(STAGING, None)]),
        ];
        let addr = serve(RailwayTokenKind::Project, services).await;
        // By default, the most recent deployment of any environment: staging's crash.
        let outcome = probe(&config(addr)).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert_eq!(
            outcome.details["services"]["api"]["environment_id"],
            STAGING
        );
        assert_eq!(
            outcome.details["services"]["worker"]["message"],
            "no deployment"
        );

        let mut production = config(addr);
        production.environment_id = Some(PRODUCTION.to_owned());
        production.services = vec!["api".to_owned()];
        let outcome = probe(&production).await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        assert_eq!(outcome.details["services"]["worker"], Value::Null);

        production.services = vec!["api".to_owned(), "ghost".to_owned()];
        let outcome = probe(&production).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert!(
            outcome
                .message
                .contains("ghost unhealthy (the project has no service of this name)"),
            "{}",
            outcome.message
        );
    }

    #[tokio::test]
    async fn an_empty_project_and_an_http_error_are_down() {
        let addr = serve(RailwayTokenKind::Project, Vec::new()).await;
        let outcome = probe(&config(addr)).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert!(
            outcome.message.starts_with("the project has no services"),
            "{}",
            outcome.message
        );
        let mut wrong_path = config(addr);
        wrong_path.endpoint = format!("http://{addr}/graphql").parse().unwrap();
        let outcome = probe(&wrong_path).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert!(
            outcome.message.starts_with("HTTP 404"),
            "{}",
            outcome.message
        );
    }

    #[tokio::test]
    async fn no_answer_within_the_deadline_is_down() {
        let app = Router::new().route(
            "/graphql/v2",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "too late"
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let config = config(addr);
        let secret = ("token", &config.token);
        let outcome = run_with_secret("railway", &config, secret, Duration::from_millis(300)).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        // 90 % of the check's timeout, so the run ends before the scheduler cancels it.
        assert_eq!(outcome.message, "timed out after 270ms");
    }

    #[test]
    fn every_deployment_status_has_a_verdict() {
        let cases = [
            ("SUCCESS", Status::Healthy),
            ("SLEEPING", Status::Healthy),
            ("BUILDING", Status::Degraded),
            ("DEPLOYING", Status::Degraded),
            ("INITIALIZING", Status::Degraded),
            ("QUEUED", Status::Degraded),
            ("WAITING", Status::Degraded),
            ("NEEDS_APPROVAL", Status::Degraded),
            ("SKIPPED", Status::Degraded),
            ("FAILED", Status::Unhealthy),
            ("CRASHED", Status::Unhealthy),
            ("REMOVED", Status::Unhealthy),
            ("REMOVING", Status::Unhealthy),
            ("SOMETHING_NEW", Status::Degraded),
        ];
        for (status, want) in cases {
            assert_eq!(classify(status).0, want, "{status}");
        }
    }

    #[test]
    fn config_errors_name_the_field() {
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        type Tweak = fn(&mut RailwayCheckConfig);
        // (tweak, field, text in the error)
        let cases: [(Tweak, &str, &str); 7] = [
            (
                |c| c.project_id = "my project".into(),
                "project_id",
                "is not a Railway project id",
            ),
            (
                |c| c.environment_id = Some(String::new()),
                "environment_id",
                "is not a Railway environment id",
            ),
            (|c| c.token = Secret::new(""), "token", "is empty"),
            (
                |c| c.token = Secret::new("PLNT\nx"),
                "token",
                "header value",
            ),
            (
                |c| c.services = vec!["api".into(), " ".into()],
                "services[1]",
                "is empty",
            ),
            (
                |c| c.services = vec!["api".into(), "api".into()],
                "services[1]",
                "\"api\" is listed twice",
            ),
            (
                |c| c.endpoint = "ws://backboard.railway.com/graphql/v2".parse().unwrap(),
                "endpoint",
                "unsupported scheme \"ws\"",
            ),
        ];
        for (tweak, field, text) in cases {
            let mut config = config(addr);
            tweak(&mut config);
            let err = config.validate("deploys").unwrap_err().to_string();
            assert!(err.contains(&format!("invalid `{field}`")), "{err}");
            assert!(err.contains(text), "{err}");
            assert!(!err.contains("PLNT"), "{err}");
        }
        // The defaults as YAML would give them.
        let parsed: RailwayCheckConfig =
            serde_json::from_value(json!({"project_id": PROJECT, "token": "t"})).unwrap();
        assert_eq!(parsed.endpoint.as_str(), DEFAULT_ENDPOINT);
        assert_eq!(parsed.token_kind, RailwayTokenKind::Project);
        parsed.validate("deploys").unwrap();
        let unknown = serde_json::from_value::<RailwayCheckConfig>(
            json!({"project_id": PROJECT, "token": "t", "token_kind": "team"}),
        )
        .unwrap_err()
        .to_string();
        assert!(unknown.contains("unknown variant `team`"), "{unknown}");
    }
}
