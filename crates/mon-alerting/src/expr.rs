//! Rule conditions in CEL (the Common Expression Language, `cel` crate): parsing,
//! the free variables a condition reads (checked against the catalog when the rule
//! is built), the value and threshold shown in alerts, and evaluation against the
//! snapshot with "no data" kept apart from "false".
//!
//! The usual voice-agent rules are CEL as written: `avg_api_latency_ms > 5000`,
//! `connection_success_rate < 0.8`. Richer ones work too:
//! `error_rate_percent > 10 && request_rate_per_min > 1`,
//! `checks.api.status == "unhealthy"`, or, with `each: checks`,
//! `check.status == "unhealthy"`.
//!
//! `anomaly("request_rate_per_min")` is the variable's anomaly score (crate `anomaly`:
//! deviations from its baseline); it has no value (the rule is "no data") while the
//! baseline warms up. Its argument must be a quoted variable name that rules may read.

use crate::Snapshot;
use crate::rule::CHECKS_VARIABLE;
use cel::common::ast::{EntryExpr, Expr as Node, operators};
use cel::objects::Map;
use cel::{Context, Env, ExecutionError, IdedExpr, Program, Value};
use mon_core::snapshot::CheckSnapshot;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, LazyLock};

/// The CEL standard environment, built once and shared by every evaluation.
static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(Env::stdlib()));

/// Why an expression could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// 1-based column where parsing failed.
    pub column: usize,
    /// What is wrong there.
    pub message: String,
}

/// A parsed rule condition: a CEL expression that must yield `true` or `false`.
#[derive(Clone)]
pub struct Expr {
    source: String,
    program: Arc<Program>,
    variables: Vec<String>,
    threshold: Option<f64>,
    /// The variables read through `anomaly("…")`, sorted.
    anomalies: Vec<String>,
    /// The side of a top-level comparison that is not the constant: its value is
    /// what the alert shows.
    measured: Option<Arc<IdedExpr>>,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expr").field(&self.source).finish()
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// The result of evaluating a condition once.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// A variable it needs has no value.
    NoData,
    /// Evaluated: whether it holds, and the value.
    Value { holds: bool, value: Option<f64> },
    /// It could not be evaluated.
    Error(String),
}

impl Expr {
    /// Parses `source` as CEL. The error carries the 1-based column.
    pub fn parse(source: &str) -> Result<Expr, ExprError> {
        if source.trim().is_empty() {
            return Err(ExprError {
                column: 1,
                message: "the expression is empty".to_string(),
            });
        }
        let program = ENV.compile(source).map_err(|errors| {
            let first = errors.errors.first();
            ExprError {
                // cel reports 1-based columns.
                column: first.map_or(1, |e| usize::try_from(e.pos.1).unwrap_or(1).max(1)),
                message: first.map_or_else(|| "syntax error".to_string(), |e| e.msg.clone()),
            }
        })?;
        let root = program.expression();
        let mut variables = BTreeSet::new();
        free_variables(root, &mut Vec::new(), &mut variables);
        let (threshold, measured) = comparison(root);
        let mut anomalies = BTreeSet::new();
        anomaly_variables(root, &mut anomalies);
        Ok(Expr {
            source: source.to_string(),
            variables: variables.into_iter().collect(),
            anomalies: anomalies.into_iter().collect(),
            threshold,
            measured: measured.map(|m| Arc::new(m.clone())),
            program: Arc::new(program),
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The top-level variables it reads (`checks` for `checks.api.status`), sorted.
    pub fn variables(&self) -> &[String] {
        &self.variables
    }

    /// The variables it reads through `anomaly("…")` (`request_rate_per_min` for
    /// `anomaly("request_rate_per_min") > 4`), sorted.
    pub fn anomaly_variables(&self) -> &[String] {
        &self.anomalies
    }

    /// The constant of a top-level comparison (`5000` in `avg_api_latency_ms > 5000`).
    pub fn threshold(&self) -> Option<f64> {
        self.threshold
    }

    /// The condition as `variable OP constant` when it is one comparison of a bare
    /// variable with a number (`avg_api_latency_ms > 5000`, or `0.8 > x` read as
    /// `x < 0.8`) by `>`, `>=`, `<` or `<=`; `None` for anything else.
    pub(crate) fn simple_comparison(&self) -> Option<Comparison> {
        let Node::Call(call) = &self.program.expression().expr else {
            return None;
        };
        let [left, right] = call.args.as_slice() else {
            return None;
        };
        let op = match call.func_name.as_str() {
            operators::GREATER => CompareOp::Greater,
            operators::GREATER_EQUALS => CompareOp::GreaterOrEqual,
            operators::LESS => CompareOp::Less,
            operators::LESS_EQUALS => CompareOp::LessOrEqual,
            _ => return None,
        };
        let threshold = self.threshold?;
        match (&left.expr, &right.expr) {
            (Node::Ident(variable), Node::Literal(_)) => Some(Comparison {
                variable: variable.clone(),
                op,
                threshold,
            }),
            (Node::Literal(_), Node::Ident(variable)) => Some(Comparison {
                variable: variable.clone(),
                op: op.flipped(),
                threshold,
            }),
            _ => None,
        }
    }

    /// Evaluates against `context` (see [`context`]). A variable without a value
    /// (or a map key that is absent) is [`Outcome::NoData`].
    pub(crate) fn evaluate(&self, context: &Context<'_, '_>) -> Outcome {
        match self.program.execute(context) {
            Ok(Value::Bool(holds)) => {
                let value = self
                    .measured
                    .as_ref()
                    .and_then(|m| Value::resolve(m, context).ok())
                    .and_then(|v| number(&v));
                Outcome::Value { holds, value }
            }
            Ok(other) => Outcome::Error(format!(
                "the expression must be true or false, it gave {other:?}"
            )),
            Err(ExecutionError::UndeclaredReference(_) | ExecutionError::NoSuchKey(_)) => {
                Outcome::NoData
            }
            Err(e) => Outcome::Error(e.to_string()),
        }
    }
}

/// A condition of the form `variable OP threshold` ([`Expr::simple_comparison`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comparison {
    /// The variable compared.
    pub(crate) variable: String,
    /// How.
    pub(crate) op: CompareOp,
    /// With what.
    pub(crate) threshold: f64,
}

/// The operator of a [`Comparison`], the variable on its left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl CompareOp {
    /// The same comparison with its sides swapped (`k > x` is `x < k`).
    fn flipped(self) -> CompareOp {
        match self {
            CompareOp::Greater => CompareOp::Less,
            CompareOp::GreaterOrEqual => CompareOp::LessOrEqual,
            CompareOp::Less => CompareOp::Greater,
            CompareOp::LessOrEqual => CompareOp::GreaterOrEqual,
        }
    }

    /// Whether the condition holds for high values (`>`, `>=`).
    pub(crate) fn fires_high(self) -> bool {
        matches!(self, CompareOp::Greater | CompareOp::GreaterOrEqual)
    }

    /// The operator as written.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CompareOp::Greater => ">",
            CompareOp::GreaterOrEqual => ">=",
            CompareOp::Less => "<",
            CompareOp::LessOrEqual => "<=",
        }
    }
}

/// A CEL number as f64.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Float(v) => Some(*v),
        #[allow(clippy::cast_precision_loss)] // thresholds are far below 2^53
        Value::Int(v) => Some(*v as f64),
        #[allow(clippy::cast_precision_loss)]
        Value::UInt(v) => Some(*v as f64),
        _ => None,
    }
}

/// For a top-level `a OP constant` (or `constant OP a`): the constant and `a`; for `a OP b`
/// of two non-constants: no constant, and `a`.
fn comparison(root: &IdedExpr) -> (Option<f64>, Option<&IdedExpr>) {
    let Node::Call(call) = &root.expr else {
        return (None, None);
    };
    let ops = [
        operators::GREATER,
        operators::GREATER_EQUALS,
        operators::LESS,
        operators::LESS_EQUALS,
        operators::EQUALS,
        operators::NOT_EQUALS,
    ];
    if !ops.contains(&call.func_name.as_str()) || call.args.len() != 2 {
        return (None, None);
    }
    let constant = |e: &IdedExpr| match &e.expr {
        Node::Literal(_) => Value::resolve(e, &Context::with_env(ENV.clone()))
            .ok()
            .and_then(|v| number(&v)),
        _ => None,
    };
    match (constant(&call.args[0]), constant(&call.args[1])) {
        (None, Some(t)) => (Some(t), Some(&call.args[0])),
        (Some(t), None) => (Some(t), Some(&call.args[1])),
        // Two variables (`offender.failed_logins > max_failed_logins`): the left one is
        // the value shown, the threshold is not a constant.
        (None, None) => (None, Some(&call.args[0])),
        _ => (None, None),
    }
}

/// The function that reads a variable's anomaly score.
pub(crate) const ANOMALY_FUNCTION: &str = "anomaly";

/// The argument of an `anomaly("name")` call: the quoted name, if it is one.
fn anomaly_argument(call: &cel::common::ast::CallExpr) -> Option<&str> {
    use cel::common::ast::LiteralValue as L;
    if call.func_name != ANOMALY_FUNCTION || call.target.is_some() {
        return None;
    }
    match call.args.as_slice() {
        [arg] => match &arg.expr {
            Node::Literal(L::String(name)) => Some(name.as_ref()),
            _ => None,
        },
        _ => None,
    }
}

/// Collects the names read by `anomaly("name")` calls.
fn anomaly_variables(e: &IdedExpr, out: &mut BTreeSet<String>) {
    match &e.expr {
        Node::Call(call) => {
            if let Some(name) = anomaly_argument(call) {
                out.insert(name.to_string());
            }
            for part in call.target.iter().map(|t| &**t).chain(&call.args) {
                anomaly_variables(part, out);
            }
        }
        Node::Select(select) => anomaly_variables(&select.operand, out),
        Node::List(list) => list.elements.iter().for_each(|x| anomaly_variables(x, out)),
        Node::Map(map) => {
            for entry in &map.entries {
                if let EntryExpr::MapEntry(entry) = &entry.expr {
                    anomaly_variables(&entry.key, out);
                    anomaly_variables(&entry.value, out);
                }
            }
        }
        Node::Comprehension(c) => {
            for part in [
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ] {
                anomaly_variables(part, out);
            }
        }
        Node::Struct(_) | Node::Ident(_) | Node::Literal(_) | Node::Unspecified => {}
    }
}

/// Collects identifiers not bound by a comprehension (`exists`, `all`, `map`...).
fn free_variables(e: &IdedExpr, bound: &mut Vec<String>, out: &mut BTreeSet<String>) {
    match &e.expr {
        Node::Ident(name) => {
            if !bound.contains(name) {
                out.insert(name.clone());
            }
        }
        Node::Call(call) => {
            if let Some(target) = &call.target {
                free_variables(target, bound, out);
            }
            for arg in &call.args {
                free_variables(arg, bound, out);
            }
        }
        Node::Select(select) => free_variables(&select.operand, bound, out),
        Node::List(list) => {
            for element in &list.elements {
                free_variables(element, bound, out);
            }
        }
        Node::Map(map) => {
            for entry in &map.entries {
                if let EntryExpr::MapEntry(entry) = &entry.expr {
                    free_variables(&entry.key, bound, out);
                    free_variables(&entry.value, bound, out);
                }
            }
        }
        Node::Struct(s) => {
            for entry in &s.entries {
                if let EntryExpr::StructField(field) = &entry.expr {
                    free_variables(&field.value, bound, out);
                }
            }
        }
        Node::Comprehension(c) => {
            free_variables(&c.iter_range, bound, out);
            let added = [Some(&c.iter_var), c.iter_var2.as_ref(), Some(&c.accu_var)];
            let before = bound.len();
            bound.extend(added.into_iter().flatten().cloned());
            for part in [&c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                free_variables(part, bound, out);
            }
            bound.truncate(before);
        }
        Node::Literal(_) | Node::Unspecified => {}
    }
}

/// What the type checker knows of a value. mon's variables are doubles; CEL compares
/// any two numbers, but its arithmetic needs both sides of one kind (`x / 1000.0`).
#[derive(Debug, Clone, PartialEq)]
enum Type {
    Bool,
    Number(Num),
    Text,
    Null,
    List(Box<Type>),
    /// A map with string keys (`checks`).
    Map(Box<Type>),
    /// One check: `name`, `status`, `latency_ms`, `critical` and what its kind publishes.
    Check,
    /// Not known until run time (custom variables, functions mon does not model).
    Dyn,
}

/// The kind of a CEL number.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    Int,
    UInt,
    Double,
}

/// A double: what every catalog variable is.
const DOUBLE: Type = Type::Number(Num::Double);

impl Type {
    fn describe(&self) -> &'static str {
        match self {
            Type::Bool => "true/false",
            Type::Number(_) => "a number",
            Type::Text => "a string",
            Type::Null => "null",
            Type::List(_) => "a list",
            Type::Map(_) | Type::Check => "a map",
            Type::Dyn => "any value",
        }
    }

    /// Whether the two can meet in a comparison (any two numbers can).
    fn is(&self, other: &Type) -> bool {
        matches!(self, Type::Dyn)
            || matches!(other, Type::Dyn)
            || self == other
            || matches!((self, other), (Type::Number(_), Type::Number(_)))
    }

    /// For arithmetic: `a` and `b` of one number kind, or a message saying how to fix it.
    fn same_number(a: &Type, b: &Type, symbol: &str) -> Result<(), String> {
        match (a, b) {
            (Type::Number(x), Type::Number(y)) if x != y => Err(format!(
                "`{symbol}` mixes number kinds (an integer literal with a double variable); \
                 write the literal with a decimal point, e.g. `1000.0`"
            )),
            _ => Ok(()),
        }
    }
}

/// The fields of a check value ([`check_value`]) and their types.
const CHECK_FIELDS: [(&str, Type); 4] = [
    ("name", Type::Text),
    ("status", Type::Text),
    ("latency_ms", DOUBLE),
    ("critical", Type::Bool),
];

impl Expr {
    /// Checks the types of the condition against the variables' types: catalog
    /// variables are numbers, `checks` a map of checks, `check` (with `each`) one
    /// check, `custom` variables anything. A condition that compares a number with a
    /// string, does arithmetic on a string, or is not true/false (`cpu_percent + 1`)
    /// is an error here, at load, rather than a rule stuck in `error` at run time.
    /// What cannot be known before run time is accepted.
    pub(crate) fn check_types(&self, custom: &[String]) -> Result<(), ExprError> {
        let checker = Checker {
            info: self.program.source_info(),
            custom,
        };
        let root = self.program.expression();
        let found = checker.infer(root, &mut Vec::new())?;
        if found.is(&Type::Bool) {
            Ok(())
        } else {
            Err(ExprError {
                column: 1,
                message: format!(
                    "a condition must be true or false, but this expression is {}; compare it, e.g. `{} > 80`",
                    found.describe(),
                    self.source.trim()
                ),
            })
        }
    }
}

struct Checker<'a> {
    info: &'a cel::common::ast::SourceInfo,
    custom: &'a [String],
}

impl Checker<'_> {
    fn error(&self, at: &IdedExpr, message: String) -> ExprError {
        let column = self
            .info
            .offset_for(at.id)
            .map_or(1, |(start, _)| start as usize + 1);
        ExprError { column, message }
    }

    fn infer(&self, e: &IdedExpr, bound: &mut Vec<(String, Type)>) -> Result<Type, ExprError> {
        use cel::common::ast::LiteralValue as L;
        Ok(match &e.expr {
            Node::Literal(literal) => match literal {
                L::Boolean(_) => Type::Bool,
                L::Double(_) => DOUBLE,
                L::Int(_) => Type::Number(Num::Int),
                L::UInt(_) => Type::Number(Num::UInt),
                L::String(_) => Type::Text,
                L::Null => Type::Null,
                L::Bytes(_) => Type::Dyn,
            },
            Node::Ident(name) => {
                if let Some((_, t)) = bound.iter().rev().find(|(n, _)| n == name) {
                    t.clone()
                } else if name == CHECKS_VARIABLE {
                    Type::Map(Box::new(Type::Check))
                } else if name == crate::rule::EACH_CHECK_VARIABLE {
                    Type::Check
                } else if name == crate::rule::EACH_OFFENDER_VARIABLE {
                    Type::Map(Box::new(Type::Dyn))
                } else if self.custom.contains(name) {
                    Type::Dyn
                } else if mon_core::catalog::CATALOG.iter().any(|v| v.name == name) {
                    DOUBLE
                } else {
                    Type::Dyn
                }
            }
            Node::Select(select) => {
                let operand = self.infer(&select.operand, bound)?;
                if select.test {
                    return Ok(Type::Bool);
                }
                self.field(e, &operand, &select.field)?
            }
            Node::List(list) => {
                let mut element = None;
                for item in &list.elements {
                    let t = self.infer(item, bound)?;
                    element = Some(match element {
                        None => t,
                        Some(prev) if prev == t => prev,
                        Some(_) => Type::Dyn,
                    });
                }
                Type::List(Box::new(element.unwrap_or(Type::Dyn)))
            }
            Node::Map(map) => {
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(entry) = &entry.expr {
                        self.infer(&entry.key, bound)?;
                        self.infer(&entry.value, bound)?;
                    }
                }
                Type::Map(Box::new(Type::Dyn))
            }
            Node::Struct(_) | Node::Unspecified => Type::Dyn,
            Node::Comprehension(c) => {
                let range = self.infer(&c.iter_range, bound)?;
                let element = match &range {
                    Type::List(t) => (**t).clone(),
                    Type::Map(_) => Type::Text,
                    _ => Type::Dyn,
                };
                let before = bound.len();
                bound.push((c.iter_var.clone(), element));
                if let Some(var2) = &c.iter_var2 {
                    bound.push((var2.clone(), Type::Dyn));
                }
                let accu = self.infer(&c.accu_init, bound)?;
                bound.push((c.accu_var.clone(), accu));
                let result = (|| {
                    self.infer(&c.loop_cond, bound)?;
                    self.infer(&c.loop_step, bound)?;
                    self.infer(&c.result, bound)
                })();
                bound.truncate(before);
                result?
            }
            Node::Call(call) => self.call(e, call, bound)?,
        })
    }

    fn field(&self, at: &IdedExpr, operand: &Type, field: &str) -> Result<Type, ExprError> {
        match operand {
            Type::Map(value) => Ok((**value).clone()),
            // A check also carries the variables its kind publishes (`success_rate`).
            Type::Check => Ok(CHECK_FIELDS
                .iter()
                .find(|(name, _)| *name == field)
                .map_or(Type::Dyn, |(_, t)| t.clone())),
            Type::Dyn => Ok(Type::Dyn),
            other => Err(self.error(
                at,
                format!(
                    "`.{field}` reads a field, but the value is {}",
                    other.describe()
                ),
            )),
        }
    }

    /// `anomaly("name")`: one quoted name of a variable rules may read.
    fn anomaly(&self, at: &IdedExpr, call: &cel::common::ast::CallExpr) -> Result<(), ExprError> {
        let example = "e.g. `anomaly(\"request_rate_per_min\") > 4`";
        let Some(name) = anomaly_argument(call) else {
            let at = call.args.first().unwrap_or(at);
            return Err(self.error(
                at,
                format!("`anomaly()` takes one variable name in quotes, {example}"),
            ));
        };
        let known = || {
            mon_core::catalog::CATALOG
                .iter()
                .map(|v| v.name)
                .chain(self.custom.iter().map(String::as_str))
        };
        if known().any(|k| k == name) {
            return Ok(());
        }
        let hint = match closest(name, known()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "use a numeric variable of the metrics catalog or one declared in \
                     alerting.custom_variables"
                .to_string(),
        };
        let at = call.args.first().unwrap_or(at);
        Err(self.error(
            at,
            format!("`anomaly(\"{name}\")`: `{name}` is not a variable; {hint}"),
        ))
    }

    fn call(
        &self,
        at: &IdedExpr,
        call: &cel::common::ast::CallExpr,
        bound: &mut Vec<(String, Type)>,
    ) -> Result<Type, ExprError> {
        if call.func_name == ANOMALY_FUNCTION && call.target.is_none() {
            return self.anomaly(at, call).map(|()| DOUBLE);
        }
        let target = match &call.target {
            Some(t) => Some(self.infer(t, bound)?),
            None => None,
        };
        let args = call
            .args
            .iter()
            .map(|a| self.infer(a, bound))
            .collect::<Result<Vec<_>, _>>()?;
        let op = call.func_name.as_str();
        let symbol = op.trim_matches('_');
        let need = |t: &Type, want: Type, what: &str| -> Result<(), ExprError> {
            if t.is(&want) {
                Ok(())
            } else {
                Err(self.error(
                    at,
                    format!("{what} needs {}, not {}", want.describe(), t.describe()),
                ))
            }
        };
        Ok(match (op, args.as_slice()) {
            (operators::LOGICAL_AND | operators::LOGICAL_OR, [a, b]) => {
                need(a, Type::Bool, &format!("`{symbol}`"))?;
                need(b, Type::Bool, &format!("`{symbol}`"))?;
                Type::Bool
            }
            (operators::LOGICAL_NOT, [a]) => {
                need(a, Type::Bool, "`!`")?;
                Type::Bool
            }
            (operators::NEGATE, [a]) => {
                need(a, DOUBLE, "`-`")?;
                a.clone()
            }
            (operators::EQUALS | operators::NOT_EQUALS, [a, b]) => {
                if !(a.is(b) || *a == Type::Null || *b == Type::Null) {
                    return Err(self.error(
                        at,
                        format!(
                            "`{symbol}` compares {} with {}: this is never true",
                            a.describe(),
                            b.describe()
                        ),
                    ));
                }
                Type::Bool
            }
            (
                operators::LESS
                | operators::LESS_EQUALS
                | operators::GREATER
                | operators::GREATER_EQUALS,
                [a, b],
            ) => {
                let comparable = a.is(b)
                    && matches!(a, Type::Number(_) | Type::Text | Type::Dyn)
                    && matches!(b, Type::Number(_) | Type::Text | Type::Dyn);
                if !comparable {
                    return Err(self.error(
                        at,
                        format!(
                            "`{symbol}` compares {} with {}; compare numbers with numbers",
                            a.describe(),
                            b.describe()
                        ),
                    ));
                }
                Type::Bool
            }
            (operators::ADD, [a, b]) => {
                let ok = a.is(b)
                    && matches!(a, Type::Number(_) | Type::Text | Type::List(_) | Type::Dyn);
                if !ok {
                    return Err(self.error(
                        at,
                        format!("`+` adds {} and {}", a.describe(), b.describe()),
                    ));
                }
                Type::same_number(a, b, "+").map_err(|m| self.error(at, m))?;
                if *a == Type::Dyn {
                    b.clone()
                } else {
                    a.clone()
                }
            }
            (
                operators::SUBSTRACT | operators::MULTIPLY | operators::DIVIDE | operators::MODULO,
                [a, b],
            ) => {
                need(a, DOUBLE, &format!("`{symbol}`"))?;
                need(b, DOUBLE, &format!("`{symbol}`"))?;
                Type::same_number(a, b, symbol).map_err(|m| self.error(at, m))?;
                if *a == Type::Dyn {
                    b.clone()
                } else {
                    a.clone()
                }
            }
            (operators::CONDITIONAL, [c, a, b]) => {
                need(c, Type::Bool, "the condition of `? :`")?;
                if a == b { a.clone() } else { Type::Dyn }
            }
            (operators::INDEX, [container, key]) => match container {
                Type::Map(value) => {
                    need(key, Type::Text, "a map index")?;
                    (**value).clone()
                }
                Type::List(element) => {
                    need(key, Type::Number(Num::Int), "a list index")?;
                    (**element).clone()
                }
                Type::Dyn => Type::Dyn,
                Type::Check => Type::Dyn,
                other => {
                    return Err(self.error(
                        at,
                        format!("`[...]` indexes a map or list, not {}", other.describe()),
                    ));
                }
            },
            (operators::IN | operators::NOT_STRICTLY_FALSE, _) => Type::Bool,
            ("contains" | "startsWith" | "endsWith" | "matches", _) => {
                if let Some(t) = &target {
                    need(t, Type::Text, &format!("`{op}`"))?;
                }
                Type::Bool
            }
            ("size" | "int", _) => Type::Number(Num::Int),
            ("uint", _) => Type::Number(Num::UInt),
            ("double", _) => DOUBLE,
            ("string", _) => Type::Text,
            _ => Type::Dyn,
        })
    }
}

/// One check as CEL sees it: `{name, status, latency_ms, critical}` (`latency_ms`
/// absent when unknown).
pub(crate) fn check_value(name: &str, check: &CheckSnapshot) -> Value {
    let mut fields: HashMap<String, Value> = HashMap::from([
        ("name".to_string(), Value::from(name.to_string())),
        (
            "status".to_string(),
            Value::from(check.status.as_str().to_string()),
        ),
        ("critical".to_string(), Value::Bool(check.critical)),
    ]);
    if let Some(latency) = check.latency_ms {
        fields.insert("latency_ms".to_string(), Value::Float(latency));
    }
    Value::Map(Map::from(fields))
}

/// One security offender as a CEL map: `kind` (`ip` or `principal`), `name` and its
/// counts (`failed_logins`, `denied`, `rate_limited`, `distinct_ips`, `new_ips`).
pub(crate) fn offender_value(o: &mon_core::snapshot::Offender) -> Value {
    let fields: HashMap<String, Value> = HashMap::from([
        ("kind".to_string(), Value::from(o.kind.as_str().to_string())),
        ("name".to_string(), Value::from(o.name.clone())),
        ("failed_logins".to_string(), Value::Float(o.failed_logins)),
        ("denied".to_string(), Value::Float(o.denied)),
        ("rate_limited".to_string(), Value::Float(o.rate_limited)),
        ("distinct_ips".to_string(), Value::Float(o.distinct_ips)),
        ("new_ips".to_string(), Value::Float(o.new_ips)),
    ]);
    Value::Map(Map::from(fields))
}

/// The variables of `snapshot` as a CEL context: every value by name, and `checks` (a
/// map of check name → [`check_value`]) when there are checks — or, with `only`, just
/// the variables named there (what the rules read: building the rest costs time).
pub(crate) fn context(
    snapshot: &Snapshot,
    only: Option<&BTreeSet<&str>>,
) -> Context<'static, 'static> {
    let wanted = |name: &str| only.is_none_or(|only| only.contains(name));
    let mut context = Context::with_env(ENV.clone());
    for (name, value) in &snapshot.values {
        if wanted(name) {
            context.add_variable_from_value(name.clone(), Value::Float(*value));
        }
    }
    if wanted(CHECKS_VARIABLE) && !snapshot.checks.is_empty() {
        let checks: HashMap<String, Value> = snapshot
            .checks
            .iter()
            .map(|(name, check)| (name.clone(), check_value(name, check)))
            .collect();
        context.add_variable_from_value(CHECKS_VARIABLE, Value::Map(Map::from(checks)));
    }
    context
}

/// Makes `anomaly("name")` read `scores` in `context`: a variable without a score
/// (no baseline, still warming up, no value now) is "no data".
pub(crate) fn add_anomaly_scores(
    context: &mut Context<'_, '_>,
    scores: Arc<BTreeMap<String, f64>>,
) {
    let added = context.add_function(
        ANOMALY_FUNCTION,
        move |name: Arc<String>| -> Result<Value, ExecutionError> {
            scores
                .get(name.as_str())
                .map(|score| Value::Float(*score))
                .ok_or(ExecutionError::NoSuchKey(name))
        },
    );
    if let Err(e) = added {
        tracing::error!(error = ?e, "anomaly() could not be added to rule evaluation");
    }
}

pub(crate) use mon_core::closest;

#[cfg(test)]
mod tests {
    use super::*;
    use mon_core::Status;

    fn snapshot() -> Snapshot {
        let mut s = Snapshot::default();
        s.set("avg_api_latency_ms", 6200.0);
        s.set("connection_success_rate", 0.75);
        s.set("request_rate_per_min", 0.0);
        s.checks.insert(
            "api".into(),
            CheckSnapshot {
                status: Status::Unhealthy,
                latency_ms: Some(12.5),
                critical: true,
            },
        );
        s
    }

    #[test]
    fn simple_comparisons_are_a_variable_against_a_number() {
        let shape = |source: &str| {
            Expr::parse(source)
                .unwrap()
                .simple_comparison()
                .map(|c| (c.variable, c.op.as_str(), c.threshold))
        };
        let some = |v: &str, op, t| Some((v.to_string(), op, t));
        for (source, want) in [
            (
                "avg_api_latency_ms > 5000",
                some("avg_api_latency_ms", ">", 5000.0),
            ),
            ("cpu_percent >= 90.5", some("cpu_percent", ">=", 90.5)),
            (
                "connection_success_rate < 0.8",
                some("connection_success_rate", "<", 0.8),
            ),
            ("x <= 1", some("x", "<=", 1.0)),
            (
                "5000 < avg_api_latency_ms",
                some("avg_api_latency_ms", ">", 5000.0),
            ),
            (
                "0.8 >= connection_success_rate",
                some("connection_success_rate", "<=", 0.8),
            ),
            ("x == 1", None),
            ("x / 1000.0 > 5", None),
            ("x > 5 && y < 1", None),
            ("checks.api.latency_ms > 10", None),
            ("x > y", None),
            ("anomaly(\"x\") > 4", None),
        ] {
            assert_eq!(shape(source), want, "{source}");
        }
    }

    #[test]
    fn evaluates_expressions_against_the_snapshot() {
        let s = snapshot();
        let ctx = context(&s, None);
        let v = |holds, value| Outcome::Value { holds, value };
        for (expr, want) in [
            ("avg_api_latency_ms > 5000", v(true, Some(6200.0))),
            ("avg_api_latency_ms > 5000.5", v(true, Some(6200.0))),
            ("5000 < avg_api_latency_ms", v(true, Some(6200.0))),
            ("connection_success_rate < 0.8", v(true, Some(0.75))),
            ("connection_success_rate >= 0.8", v(false, Some(0.75))),
            ("avg_api_latency_ms / 1000.0 > 5", v(true, Some(6.2))),
            (
                "avg_api_latency_ms > 5000 && connection_success_rate < 0.5",
                v(false, None),
            ),
            ("checks.api.status == 'unhealthy'", v(true, None)),
            ("checks.api.latency_ms > 10", v(true, Some(12.5))),
            (
                "checks.exists(c, checks[c].status == 'unhealthy')",
                v(true, None),
            ),
            ("room_creation_failures > 5", Outcome::NoData),
            ("checks.stt.status == 'healthy'", Outcome::NoData),
            (
                "avg_api_latency_ms + 1.0",
                Outcome::Error(
                    "the expression must be true or false, it gave Float(6201.0)".into(),
                ),
            ),
            (
                // CEL does not mix int and double in arithmetic (comparisons are fine).
                "avg_api_latency_ms + 1 > 0",
                Outcome::Error("Unsupported binary operator 'add': Float(6200.0), Int(1)".into()),
            ),
        ] {
            let parsed = Expr::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e:?}"));
            assert_eq!(parsed.evaluate(&ctx), want, "{expr}");
        }
        let no_checks = context(&Snapshot::default(), None);
        assert_eq!(
            Expr::parse("checks.api.status == 'unhealthy'")
                .unwrap()
                .evaluate(&no_checks),
            Outcome::NoData
        );
    }

    #[test]
    fn anomaly_reads_the_scores_and_is_no_data_without_one() {
        let s = snapshot();
        let mut ctx = context(&s, None);
        let scores = BTreeMap::from([("request_rate_per_min".to_string(), 5.5)]);
        add_anomaly_scores(&mut ctx, Arc::new(scores));
        for (source, want) in [
            (
                "anomaly(\"request_rate_per_min\") > 4",
                Outcome::Value {
                    holds: true,
                    value: Some(5.5),
                },
            ),
            (
                "anomaly(\"request_rate_per_min\") > 6",
                Outcome::Value {
                    holds: false,
                    value: Some(5.5),
                },
            ),
            // Warming up, or no value now: no score.
            ("anomaly(\"cpu_percent\") > 4", Outcome::NoData),
            // As for any variable without a value: CEL's `||` holds when the other side does.
            (
                "anomaly(\"cpu_percent\") > 4 || avg_api_latency_ms > 5000",
                Outcome::Value {
                    holds: true,
                    value: None,
                },
            ),
        ] {
            let parsed = Expr::parse(source).unwrap_or_else(|e| panic!("{source}: {e:?}"));
            assert_eq!(parsed.evaluate(&ctx), want, "{source}");
        }
        let parsed = Expr::parse("anomaly(\"a\") > 4 && (anomaly(\"b\") < 0 || x > 1)");
        assert_eq!(
            parsed.map(|p| p.anomaly_variables().to_vec()),
            Ok(vec!["a".to_string(), "b".to_string()])
        );
    }

    #[test]
    fn knows_its_variables_and_threshold() {
        for (expr, variables, threshold) in [
            (
                "avg_api_latency_ms > 5000",
                &["avg_api_latency_ms"][..],
                Some(5000.0),
            ),
            (
                "0.8 > connection_success_rate",
                &["connection_success_rate"],
                Some(0.8),
            ),
            ("a > 1 && b < 2", &["a", "b"], None),
            ("checks.exists(c, checks[c].critical)", &["checks"], None),
            ("check.status == 'unhealthy'", &["check"], None),
        ] {
            let parsed = Expr::parse(expr).unwrap();
            assert_eq!(parsed.variables(), variables, "{expr}");
            assert_eq!(parsed.threshold(), threshold, "{expr}");
        }
    }

    #[test]
    fn parse_errors_have_a_column() {
        for (expr, column) in [("cpu_percent >> 80", 14), ("", 1), ("cpu_percent > ", 15)] {
            let err = Expr::parse(expr).unwrap_err();
            assert_eq!(err.column, column, "{expr}: {err:?}");
            assert!(!err.message.is_empty());
        }
    }

    /// Type errors are found at load; what only run time can know is accepted.
    #[test]
    fn type_errors_table() {
        let custom = ["queue_depth".to_string()];
        // An expression, and `Ok` or the column and a part of the message.
        type Case<'a> = (&'a str, Result<(), (usize, &'a str)>);
        let cases: &[Case<'_>] = &[
            ("cpu_percent > 80", Ok(())),
            ("cpu_percent > 80 && memory_percent > 90.5", Ok(())),
            ("-cpu_percent < -1 || !(disk_percent >= 2)", Ok(())),
            ("checks.api.status == \"unhealthy\"", Ok(())),
            ("checks[\"api\"].latency_ms > 100", Ok(())),
            ("check.status != \"healthy\" && check.critical", Ok(())),
            (
                "checks.exists(n, checks[n].status == \"unhealthy\")",
                Ok(()),
            ),
            ("size(checks) > 2", Ok(())),
            ("queue_depth > 10", Ok(())),
            ("queue_depth", Ok(())),
            ("has(checks.api) && checks.api.critical", Ok(())),
            ("(cpu_percent + memory_percent) / 2.0 > 50", Ok(())),
            ("size(checks) * 2 > 1", Ok(())),
            ("avg_api_latency_ms / 1000.0 > 5", Ok(())),
            (
                "avg_api_latency_ms / 1000 > 5",
                Err((20, "`/` mixes number kinds")),
            ),
            ("cpu_percent > 90 ? true : memory_percent > 95", Ok(())),
            ("checks.api.status in [\"unhealthy\", \"degraded\"]", Ok(())),
            (
                "cpu_percent > \"a\"",
                Err((13, "compares a number with a string")),
            ),
            (
                "cpu_percent + 1.0",
                Err((1, "must be true or false, but this expression is a number")),
            ),
            ("cpu_percent + 1", Err((13, "`+` mixes number kinds"))),
            ("cpu_percent", Err((1, "must be true or false"))),
            ("\"x\" + 1 > 0", Err((5, "`+` adds a string and a number"))),
            (
                "cpu_percent == \"high\"",
                Err((13, "compares a number with a string")),
            ),
            (
                "cpu_percent > 1 && memory_percent",
                Err((17, "`&&` needs true/false, not a number")),
            ),
            (
                "checks.api.status > 3",
                Err((19, "compares a string with a number")),
            ),
            ("check.success_rate < 0.8", Ok(())),
            ("anomaly(\"request_rate_per_min\") > 4", Ok(())),
            ("anomaly(\"queue_depth\") < -3.5", Ok(())),
            (
                "anomaly(\"request_rate_per_mn\") > 4",
                Err((9, "did you mean `request_rate_per_min`?")),
            ),
            (
                "anomaly(\"zzz\") > 4",
                Err((9, "`zzz` is not a variable; use a numeric variable")),
            ),
            (
                "anomaly(cpu_percent) > 4",
                Err((9, "takes one variable name in quotes")),
            ),
            (
                "anomaly() > 4",
                Err((8, "takes one variable name in quotes")),
            ),
            (
                "anomaly(\"cpu_percent\") > \"a\"",
                Err((24, "compares a number with a string")),
            ),
            (
                "anomaly(\"cpu_percent\")",
                Err((1, "must be true or false")),
            ),
            (
                "check.status > 3",
                Err((14, "compares a string with a number")),
            ),
            (
                "cpu_percent.value > 3",
                Err((12, "`.value` reads a field, but the value is a number")),
            ),
            (
                "cpu_percent * \"2\" > 1",
                Err((13, "`*` needs a number, not a string")),
            ),
            ("!cpu_percent", Err((1, "`!` needs true/false"))),
            (
                "checks.all(n, n.status == \"healthy\")",
                Err((16, "`.status` reads a field, but the value is a string")),
            ),
        ];
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(source, want)| {
                let got = Expr::parse(source)
                    .expect(source)
                    .check_types(&custom)
                    .map_err(|e| (e.column, e.message));
                let ok = match (&got, want) {
                    (Ok(()), Ok(())) => true,
                    (Err((column, message)), Err((want_column, want_message))) => {
                        column == want_column && message.contains(want_message)
                    }
                    _ => false,
                };
                (!ok).then(|| format!("{source}: got {got:?}, want {want:?}"))
            })
            .collect();
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn suggests_the_closest_name() {
        let known = ["cpu_percent", "memory_percent", "avg_api_latency_ms"];
        for (name, want) in [
            ("cpu_precent", Some("cpu_percent")),
            ("avg_api_latency", Some("avg_api_latency_ms")),
            ("memory", None),
            ("zzz", None),
        ] {
            assert_eq!(closest(name, known), want, "{name}");
        }
    }
}
