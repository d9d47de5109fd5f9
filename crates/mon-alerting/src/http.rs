//! The alerting API over HTTP: how an alert action's failure answers
//! (`From<ActionError> for mon_http::ApiError`).

use crate::ActionError;
use mon_api::ErrorCode;
use mon_http::ApiError;

/// An alert action's failure: 404 for an alert that is not open, 409 for one whose state
/// refuses the action, the store's answer when the change could not be saved (429 for a
/// full queue), 500 (logged) otherwise.
impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::NotFound(_) => ApiError::not_found(e.to_string()),
            ActionError::Conflict { .. } => ApiError::of(ErrorCode::Conflict, e.to_string()),
            ActionError::Store(store) => store.into(),
            e => ApiError::internal("the alert action failed", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use mon_store::StoreError;

    #[test]
    fn an_action_on_a_full_store_queue_is_a_429_to_retry() {
        let error = ApiError::from(ActionError::Store(StoreError::Busy { capacity: 8 }));
        assert_eq!(error.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(error.code(), ErrorCode::Busy);
        assert_eq!(error.retry_after(), Some(1));
        assert!(
            error.message().contains("8 batches queued"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn an_action_maps_the_store_error_as_the_store_does() {
        let closed = ApiError::from(ActionError::Store(StoreError::Closed));
        assert_eq!(closed.code(), ErrorCode::Unavailable);
        assert_eq!(closed.status(), ApiError::from(StoreError::Closed).status());
        let missing = ApiError::from(ActionError::NotFound("a1".to_string()));
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let encode = ApiError::from(ActionError::Encode("bad".to_string()));
        assert_eq!(encode.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
