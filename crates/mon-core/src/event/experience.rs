//! The user-experience kinds: a caller's `session`, their `feedback`, the use of a
//! `feature`; and the [`Arm`] of an experiment any event may belong to.

use super::{InvalidEvent, at_least_zero, label_name, non_empty, optional_name, range};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest feedback comment kept, in bytes: a comment is read by people, never a
/// label, and a longer one is refused rather than cut.
pub const MAX_COMMENT_BYTES: usize = 4096;

/// Whether a session began or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionPhase {
    /// The session began.
    Start,
    /// The session ended, with an outcome.
    End,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionOutcome {
    /// The caller got what they came for.
    Completed,
    /// The caller left before the end (hung up, stopped answering).
    Abandoned,
    /// Handed over to a person or another agent.
    Transferred,
    /// The session broke down (an error on the agent's side).
    Failed,
}

impl SessionOutcome {
    /// The snake_case name, as written in JSON and used as a label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionOutcome::Completed => "completed",
            SessionOutcome::Abandoned => "abandoned",
            SessionOutcome::Transferred => "transferred",
            SessionOutcome::Failed => "failed",
        }
    }

    /// Every outcome, in the order above.
    pub const ALL: [SessionOutcome; 4] = [
        SessionOutcome::Completed,
        SessionOutcome::Abandoned,
        SessionOutcome::Transferred,
        SessionOutcome::Failed,
    ];
}

/// A thumbs-up or thumbs-down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Thumbs {
    /// Liked it.
    Up,
    /// Did not.
    Down,
}

/// A user session with a voice agent began or ended (`"type": "session"`): a session
/// is what the user lived through (one or more calls, many turns); the `end` carries
/// how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionEvent {
    /// The session's id.
    pub session_id: String,
    /// `start` or `end`.
    pub phase: SessionPhase,
    /// The user, as the application knows them (pseudonymised before it is kept when
    /// it looks like personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Conversation turns in the session (at `end`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turns: Option<u32>,
    /// How it ended: `completed`, `abandoned`, `transferred` or `failed` (required at
    /// `end`, refused at `start`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<SessionOutcome>,
    /// How long it lasted, in seconds (at `end`; absent, mon uses the time since the
    /// `start` it saw).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl SessionEvent {
    /// A non-empty session id; a user id, when given, non-empty; an `end` with an
    /// outcome, a `start` without one (nor turns or a duration); a duration ≥ 0.
    ///
    /// # Errors
    /// The first field at fault.
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        non_empty("session_id", &self.session_id)?;
        if let Some(user) = &self.user_id {
            non_empty("user_id", user)?;
        }
        match self.phase {
            SessionPhase::Start => {
                for (field, given) in [
                    ("outcome", self.outcome.is_some()),
                    ("turns", self.turns.is_some()),
                    ("duration_seconds", self.duration_seconds.is_some()),
                ] {
                    if given {
                        return Err(InvalidEvent::new(
                            field,
                            "belongs to the session's end (\"phase\": \"end\"), not its start",
                        ));
                    }
                }
            }
            SessionPhase::End if self.outcome.is_none() => {
                return Err(InvalidEvent::new(
                    "outcome",
                    "a session's end says how it ended: completed, abandoned, transferred or failed",
                ));
            }
            SessionPhase::End => {}
        }
        self.duration_seconds
            .map_or(Ok(()), |d| at_least_zero("duration_seconds", d))
    }
}

/// A user's feedback (`"type": "feedback"`): a rating from 1 to 5 and/or a thumbs up
/// or down, with an optional category and comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackEvent {
    /// The rating, 1 (worst) to 5 (best).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// `up` or `down`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbs: Option<Thumbs>,
    /// What it is about: `voice_quality`, `latency`, `answer`, ... (a label value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// What the user wrote: kept for reading (masked like every text), never a label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The session (or conversation) it is about: the voice quality measured with the
    /// same `conversation_id` puts the rating in its MOS and latency band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// When it was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl FeedbackEvent {
    /// A rating (1–5) or a thumbs, or both; a category, when given, non-empty and at
    /// most `max_label_bytes` long; a comment of at most [`MAX_COMMENT_BYTES`].
    ///
    /// # Errors
    /// The first field at fault.
    pub fn validate(&self, max_label_bytes: usize) -> Result<(), InvalidEvent> {
        if self.rating.is_none() && self.thumbs.is_none() {
            return Err(InvalidEvent::new(
                "rating",
                "feedback needs a rating (1-5), a thumbs (up or down), or both",
            ));
        }
        if let Some(rating) = self.rating {
            range("rating", f64::from(rating), 1.0, 5.0)?;
        }
        optional_name("category", self.category.as_deref(), max_label_bytes)?;
        if let Some(comment) = &self.comment
            && comment.len() > MAX_COMMENT_BYTES
        {
            return Err(InvalidEvent::new(
                "comment",
                format!(
                    "{} bytes, over the comment limit of {MAX_COMMENT_BYTES}",
                    comment.len()
                ),
            ));
        }
        Ok(())
    }

    /// Whether the user was satisfied: a rating of 4 or 5, else a thumbs up.
    pub fn satisfied(&self) -> bool {
        match self.rating {
            Some(r) => r >= 4,
            None => self.thumbs == Some(Thumbs::Up),
        }
    }
}

/// A feature of the voice agent was used (`"type": "feature"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureEvent {
    /// The feature, e.g. `voice_command` (a label value).
    pub feature: String,
    /// The user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The session it was used in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// How long it was used, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// When it was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl FeatureEvent {
    /// A non-empty feature name at most `max_label_bytes` long; a duration ≥ 0.
    ///
    /// # Errors
    /// The first field at fault.
    pub fn validate(&self, max_label_bytes: usize) -> Result<(), InvalidEvent> {
        label_name("feature", &self.feature, max_label_bytes)?;
        self.duration_seconds
            .map_or(Ok(()), |d| at_least_zero("duration_seconds", d))
    }
}

/// The arm of an experiment an event belongs to: every kind takes the optional fields
/// `experiment` (its name, e.g. `prompt-v2`) and `variant` (`control`, `b`, ...), both
/// or neither. Stored with the event, they let `GET /api/v1/experiments/{name}`
/// compare the variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arm<'a> {
    /// The experiment's name.
    pub experiment: &'a str,
    /// The variant.
    pub variant: &'a str,
}

impl<'a> Arm<'a> {
    /// The arm of the fields `experiment` and `variant`: both given, each non-empty and
    /// at most `max_label_bytes` long, or neither.
    ///
    /// # Errors
    /// The field at fault: the one given without the other, or not a valid name.
    pub fn of(
        experiment: Option<&'a str>,
        variant: Option<&'a str>,
        max_label_bytes: usize,
    ) -> Result<Option<Arm<'a>>, InvalidEvent> {
        match (experiment, variant) {
            (None, None) => Ok(None),
            (Some(experiment), Some(variant)) => {
                label_name("experiment", experiment, max_label_bytes)?;
                label_name("variant", variant, max_label_bytes)?;
                Ok(Some(Arm {
                    experiment,
                    variant,
                }))
            }
            (Some(_), None) => Err(InvalidEvent::new(
                "variant",
                "an event in an experiment names its variant too",
            )),
            (None, Some(_)) => Err(InvalidEvent::new(
                "experiment",
                "a variant belongs to an experiment: name it",
            )),
        }
    }
}
