//! [`document`]: the OpenAPI 3.1 document of the API, built from [`ENDPOINTS`] and the
//! schemas of [`crate::answers`] and [`crate::error`].

use crate::anomaly::{AnomalyAnswer, AnomalyBandPoint};
use crate::answers::{
    ActorBody, AlertAnswer, AlertCounts, AlertEventView, AlertNotificationView, AlertStatsAnswer,
    AlertView, AlertsAnswer, CallTotalsView, ChannelTestAnswer, ChannelView, ChannelsAnswer,
    CheckCounts, CheckResultsAnswer, CheckSnapshotView, CheckView, ChecksAnswer,
    CompactRangeAnswer, CompactSeriesView, DashboardSummary, DashboardsAnswer, ErrorGroupView,
    ErrorRecordView, ErrorsAnswer, EventsAnswer, HealthAlertView, HealthAlertsAnswer,
    HealthAlertsSummary, LivekitTotalsView, LogView, LogsAnswer, MatcherBody, MatcherView,
    PointView, PostableAlert, RaiseAlertAnswer, RaiseAlertBody, ResultView, RuleView, RulesAnswer,
    SeriesListAnswer, SeriesPointsView, SeriesQueryAnswer, SeriesView, SilenceBody, SilenceView,
    SilencesAnswer, SlowRequestView, SnapshotAnswer, StatusAnswer, StoreState, WhoamiAnswer,
    WindowReportView, WindowStatsView,
};
use crate::endpoints::{Access, Answer, Body, ENDPOINTS, Endpoint, Method, ParamKind};
use crate::{ErrorAnswer, ErrorBody, ErrorCode};
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type,
};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr,
    Required, Schema,
};

/// The name of the bearer-token security scheme.
const BEARER: &str = "bearer";
/// The name of the LiveKit webhook signature scheme.
const LIVEKIT: &str = "livekit_signature";

/// The OpenAPI 3.1 document of every endpoint in [`ENDPOINTS`], for a server of `version`.
pub fn document(version: &str) -> OpenApi {
    let mut paths = Paths::new();
    for endpoint in ENDPOINTS {
        let method = match endpoint.method {
            Method::Get => HttpMethod::Get,
            Method::Post => HttpMethod::Post,
            Method::Delete => HttpMethod::Delete,
        };
        paths.add_path_operation(endpoint.path, vec![method], operation(endpoint));
    }
    let components = crate::security::components(ComponentsBuilder::new());
    let components = crate::incidents::components(components);
    let components = crate::quality::components(components);
    let components = crate::experiments::components(components);
    let components = crate::reports::components(components);
    let components = crate::sources::components(components)
        .schema_from::<ErrorAnswer>()
        .schema_from::<ErrorBody>()
        .schema_from::<ErrorCode>()
        .schema_from::<StatusAnswer>()
        .schema_from::<CheckCounts>()
        .schema_from::<AlertCounts>()
        .schema_from::<StoreState>()
        .schema_from::<CheckView>()
        .schema_from::<ChecksAnswer>()
        .schema_from::<ResultView>()
        .schema_from::<CheckResultsAnswer>()
        .schema_from::<WhoamiAnswer>()
        .schema_from::<ActorBody>()
        .schema_from::<AlertView>()
        .schema_from::<RaiseAlertBody>()
        .schema_from::<RaiseAlertAnswer>()
        .schema_from::<PostableAlert>()
        .schema_from::<AlertsAnswer>()
        .schema_from::<AlertEventView>()
        .schema_from::<AlertAnswer>()
        .schema_from::<AlertNotificationView>()
        .schema_from::<MatcherView>()
        .schema_from::<SilenceBody>()
        .schema_from::<MatcherBody>()
        .schema_from::<AlertStatsAnswer>()
        .schema_from::<HealthAlertView>()
        .schema_from::<HealthAlertsSummary>()
        .schema_from::<HealthAlertsAnswer>()
        .schema_from::<SilenceView>()
        .schema_from::<SilencesAnswer>()
        .schema_from::<RuleView>()
        .schema_from::<RulesAnswer>()
        .schema_from::<ChannelView>()
        .schema_from::<ChannelsAnswer>()
        .schema_from::<ChannelTestAnswer>()
        .schema_from::<ErrorGroupView>()
        .schema_from::<ErrorsAnswer>()
        .schema_from::<LogView>()
        .schema_from::<LogsAnswer>()
        .schema_from::<SeriesView>()
        .schema_from::<SeriesListAnswer>()
        .schema_from::<PointView>()
        .schema_from::<SeriesPointsView>()
        .schema_from::<SeriesQueryAnswer>()
        .schema_from::<CompactSeriesView>()
        .schema_from::<CompactRangeAnswer>()
        .schema_from::<EventsAnswer>()
        .schema_from::<DashboardSummary>()
        .schema_from::<DashboardsAnswer>()
        .schema_from::<SnapshotAnswer>()
        .schema_from::<CheckSnapshotView>()
        .schema_from::<CallTotalsView>()
        .schema_from::<LivekitTotalsView>()
        .schema_from::<ErrorRecordView>()
        .schema_from::<SlowRequestView>()
        .schema_from::<WindowReportView>()
        .schema_from::<WindowStatsView>()
        .schema_from::<AnomalyBandPoint>()
        .schema_from::<AnomalyAnswer>()
        .security_scheme(
            BEARER,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        )
        .security_scheme(
            LIVEKIT,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "A JWT signed by the LiveKit API secret, whose sha256 claim is the body's hash",
            ))),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("mon-server API")
                .version(version)
                .description(Some(
                    "Every failure answers `{\"error\": {\"code\", \"message\"}}`; the codes \
                     and their statuses are in the ErrorCode schema and docs/api.md. \
                     `x-mon-access` names who may call each operation.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .build()
}

fn operation(endpoint: &Endpoint) -> utoipa::openapi::path::Operation {
    let access = match endpoint.access {
        Access::Public => "public",
        Access::PublicByDefault => "public while in server.public_paths (by default), else read",
        Access::Read => "read",
        Access::Ingest => "ingest",
        Access::Admin => "admin",
        Access::LiveKitSignature => "livekit webhook signature",
    };
    let mut builder = OperationBuilder::new()
        .summary(Some(endpoint.summary))
        .operation_id(Some(operation_id(endpoint)))
        .extensions(Some(
            ExtensionsBuilder::new().add("x-mon-access", access).build(),
        ));
    builder = match endpoint.access {
        Access::Public => builder.securities(Some(Vec::new())),
        // Reads need no token while none is configured, or while the path is public.
        Access::PublicByDefault | Access::Read => builder
            .security(SecurityRequirement::default())
            .security(SecurityRequirement::new(BEARER, Vec::<String>::new())),
        Access::Ingest | Access::Admin => {
            builder.security(SecurityRequirement::new(BEARER, Vec::<String>::new()))
        }
        Access::LiveKitSignature => {
            builder.security(SecurityRequirement::new(LIVEKIT, Vec::<String>::new()))
        }
    };
    for name in path_parameters(endpoint.path) {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(string())),
        );
    }
    for param in endpoint.query {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(param.name)
                .parameter_in(ParameterIn::Query)
                .required(if param.required {
                    Required::True
                } else {
                    Required::False
                })
                .schema(Some(param_schema(param.kind))),
        );
    }
    builder = builder.request_body(request_body(endpoint.body));
    let success = |description: &str| match endpoint.answer {
        Answer::Typed(name) | Answer::Created(name) => {
            json_response(description, Ref::from_schema_name(name).into())
        }
        Answer::Object => json_response(description, object().into()),
        Answer::Media(media) => ResponseBuilder::new()
            .description(description)
            .content(media, ContentBuilder::new().schema(Some(string())).build()),
        Answer::Empty => ResponseBuilder::new().description(description),
    };
    let status = if matches!(endpoint.answer, Answer::Created(_)) {
        "201"
    } else {
        "200"
    };
    builder = builder.response(status, success("OK"));
    if endpoint.unhealthy_503 {
        builder = builder.response("503", success("Unhealthy or not ready: the same body"));
    }
    // One response per status, naming every code it may carry (429: `busy` and
    // `rate_limited`, both with `Retry-After`).
    let codes = endpoint.error_codes();
    let mut statuses: Vec<u16> = codes.iter().map(|c| c.status()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    for status in statuses {
        let names: Vec<String> = codes
            .iter()
            .filter(|c| c.status() == status)
            .map(|c| format!("`{c}`"))
            .collect();
        let mut response = json_response(
            &format!("{} and other errors of this status", names.join(", ")),
            Ref::from_schema_name("ErrorAnswer").into(),
        );
        if status == 429 {
            response = response.header(
                "Retry-After",
                utoipa::openapi::HeaderBuilder::new()
                    .schema(string())
                    .description(Some("Seconds to wait before retrying"))
                    .build(),
            );
        }
        builder = builder.response(status.to_string(), response);
    }
    builder.build()
}

/// `get_api_v1_checks_name`: the method and the path's words.
fn operation_id(endpoint: &Endpoint) -> String {
    let words: Vec<&str> = endpoint
        .path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let method = endpoint.method.as_str().to_ascii_lowercase();
    if words.is_empty() {
        format!("{method}_root")
    } else if endpoint.path.len() > 1 && endpoint.path.ends_with('/') {
        // `/health/` beside `/health`.
        format!("{method}_{}_slash", words.join("_"))
    } else {
        format!("{method}_{}", words.join("_"))
    }
}

/// The `{name}` parameters of a routed path.
pub fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.split_once('}'))
        .map(|(name, _)| name)
        .collect()
}

fn request_body(body: Body) -> Option<utoipa::openapi::request_body::RequestBody> {
    let (schema, required): (RefOr<Schema>, bool) = match body {
        Body::None => return None,
        Body::Optional(name) => (Ref::from_schema_name(name).into(), false),
        Body::Typed(name) => (Ref::from_schema_name(name).into(), true),
        Body::Events => (
            ArrayBuilder::new()
                .items(RefOr::T(object()))
                .min_items(Some(1))
                .build()
                .into(),
            true,
        ),
        Body::Array(name) => (
            ArrayBuilder::new()
                .items(RefOr::Ref(Ref::from_schema_name(name)))
                .build()
                .into(),
            true,
        ),
        Body::Raw => (string().into(), true),
    };
    let media = if body == Body::Raw {
        "application/octet-stream"
    } else {
        "application/json"
    };
    Some(
        RequestBodyBuilder::new()
            .content(media, ContentBuilder::new().schema(Some(schema)).build())
            .required(Some(if required {
                Required::True
            } else {
                Required::False
            }))
            .build(),
    )
}

/// A duration: a number and a unit (the parser reads more, such as `1h30m`; this is the
/// form the docs use).
const DURATION_PATTERN: &str = "^[1-9][0-9]{0,3}(ms|s|m|h|d)$";

fn param_schema(kind: ParamKind) -> Schema {
    let text = |pattern: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern))
            .build()
    };
    match kind {
        ParamKind::Limit => param_schema(ParamKind::Count(10_000)),
        ParamKind::Count(max) => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(max))
            .build()
            .into(),
        ParamKind::Positive(max) => ObjectBuilder::new()
            .schema_type(Type::Number)
            .exclusive_minimum(Some(0))
            .maximum(Some(max))
            .build()
            .into(),
        ParamKind::Level => ObjectBuilder::new()
            .schema_type(Type::Number)
            .exclusive_minimum(Some(0))
            .maximum(Some(crate::stats::MAX_CONFIDENCE))
            .build()
            .into(),
        ParamKind::Duration => text(DURATION_PATTERN).into(),
        ParamKind::Time => OneOfBuilder::new()
            .item(text(DURATION_PATTERN))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
            )
            .build()
            .into(),
        ParamKind::OneOf(words) => ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(words.iter().copied()))
            .build()
            .into(),
        ParamKind::Ip => OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::Custom("ipv4".into()))),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::Custom("ipv6".into()))),
            )
            .build()
            .into(),
        ParamKind::Text => string(),
        ParamKind::Name => text("\\S").into(),
    }
}

fn json_response(description: &str, schema: RefOr<Schema>) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new().schema(Some(schema)).build(),
    )
}

fn object() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .build()
        .into()
}

fn string() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_the_braced_segments() {
        assert_eq!(path_parameters("/api/v1/checks/{name}/results"), ["name"]);
        assert_eq!(path_parameters("/badge/{check}/status.svg"), ["check"]);
        assert!(path_parameters("/health").is_empty());
    }

    #[test]
    fn the_document_is_openapi_3_1_with_every_endpoint_and_its_access() {
        let json = serde_json::to_value(document("1.2.3")).expect("serialize");
        assert!(
            json["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1")),
            "{}",
            json["openapi"]
        );
        for endpoint in ENDPOINTS {
            let method = endpoint.method.as_str().to_ascii_lowercase();
            let operation = &json["paths"][endpoint.path][&method];
            assert!(
                operation.is_object(),
                "{method} {} is missing",
                endpoint.path
            );
            assert!(
                operation["x-mon-access"].is_string(),
                "{method} {}",
                endpoint.path
            );
            let security = operation["security"].to_string();
            match endpoint.access {
                Access::Public => assert_eq!(security, "[]", "{}", endpoint.path),
                Access::LiveKitSignature => assert!(security.contains(LIVEKIT)),
                _ => assert!(security.contains(BEARER), "{}: {security}", endpoint.path),
            }
            for code in endpoint.error_codes() {
                assert!(
                    operation["responses"][code.status().to_string()].is_object(),
                    "{method} {} documents no {}",
                    endpoint.path,
                    code.status()
                );
            }
        }
        assert!(
            json["paths"]["/api/v1/events"]["post"]["responses"]["429"]["headers"]["Retry-After"]
                .is_object(),
            "a 429 documents its Retry-After"
        );
    }

    #[test]
    fn every_schema_an_endpoint_names_is_in_the_components() {
        let json = serde_json::to_value(document("1.2.3")).expect("serialize");
        let schemas = &json["components"]["schemas"];
        for endpoint in ENDPOINTS {
            let answer = match endpoint.answer {
                Answer::Typed(name) | Answer::Created(name) => Some(name),
                Answer::Object | Answer::Media(_) | Answer::Empty => None,
            };
            let body = match endpoint.body {
                Body::Optional(name) | Body::Typed(name) | Body::Array(name) => Some(name),
                Body::None | Body::Events | Body::Raw => None,
            };
            for name in answer.into_iter().chain(body) {
                assert!(
                    schemas[name].is_object(),
                    "{} {} names {name}, which is not in the components",
                    endpoint.method.as_str(),
                    endpoint.path
                );
            }
        }
    }

    #[test]
    fn request_body_schemas_are_closed_objects_like_the_server_reads_them() {
        let json = serde_json::to_value(document("1.2.3")).expect("serialize");
        let schemas = &json["components"]["schemas"];
        for (name, fields) in [
            ("ActorBody", &["by", "comment"][..]),
            ("SilenceBody", &["matchers", "created_by"][..]),
            ("MatcherBody", &["name", "value", "isEqual"][..]),
            (
                "RaiseAlertBody",
                &["severity", "title", "message", "labels", "resolve_after"][..],
            ),
        ] {
            let schema = &schemas[name];
            assert_eq!(schema["type"], "object", "{name}: {schema}");
            assert_eq!(schema["additionalProperties"], false, "{name}: {schema}");
            for field in fields {
                assert!(
                    schema["properties"][field].is_object(),
                    "{name}.{field}: {schema}"
                );
            }
        }
        let silence = &schemas["SilenceBody"]["properties"];
        assert_eq!(silence["matchers"]["minItems"], 1, "{silence}");
        assert_eq!(silence["created_by"]["pattern"], "\\S", "{silence}");
    }

    #[test]
    fn every_method_and_path_is_listed_once_with_unique_operation_ids() {
        let mut seen = std::collections::HashSet::new();
        for endpoint in ENDPOINTS {
            assert!(
                seen.insert(operation_id(endpoint)),
                "{} {} twice",
                endpoint.method.as_str(),
                endpoint.path
            );
        }
    }
}
