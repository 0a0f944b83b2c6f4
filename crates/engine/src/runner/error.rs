//! Why one attempt at a target failed, typed across the engine boundary: the runner decides the
//! attempt's status (failed or out of memory) and whether to try a fallback from the kind, and
//! each message stays as clear as the error it wraps.

use crate::backend::BackendError;
use crate::server::{ServerError, oom_signature};

/// A target attempt's failure.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The API: nothing listening, unauthorised, not an Ollama/OpenAI API, the model not found
    /// (with the models the server has), or another failed call.
    #[error(transparent)]
    Api(#[from] BackendError),
    /// A managed server's launch: the command could not start, its port was busy, it exited,
    /// or it was not ready in time.
    #[error(transparent)]
    Launch(#[from] ServerError),
    /// A cold restart was asked of a target with no launch command.
    #[error("no launch command")]
    NoLaunchCommand,
    /// The target's URL does not parse.
    #[error(transparent)]
    Url(#[from] url::ParseError),
    /// Every request of the run failed.
    #[error("all {sent} requests failed (first: {kind} {detail})")]
    AllRequestsFailed {
        /// Requests sent.
        sent: u64,
        /// The first one's outcome (`http_500`, `timeout`, …).
        kind: String,
        /// Its error text.
        detail: String,
    },
    /// The load driver itself failed.
    #[error("load driver failed: {0}")]
    Driver(String),
    /// Fill-in-the-middle cannot be asked of this target (no FIM tokens, no template).
    #[error("{0}")]
    Fim(String),
    /// The quality evaluation could not start (no dataset, no interpreter, …).
    #[error("{0}")]
    Quality(String),
    /// The sessions workload cannot run (a source without sessions).
    #[error("{0}")]
    Sessions(String),
    /// The context ladder cannot run (its corpus was not loaded).
    #[error("{0}")]
    Ladder(String),
    /// The capacity search cannot keep its steps (`capacity.jsonl` not writable).
    #[error("{0}")]
    Capacity(String),
    /// The server ran out of memory: `signature` was found in the error or in the server's log.
    /// The message is the failure it showed as.
    #[error("{cause}")]
    OutOfMemory {
        /// The out-of-memory message recognised (`cuda out of memory`, …).
        signature: &'static str,
        /// How the failure showed.
        cause: Box<TargetError>,
    },
}

impl TargetError {
    /// This failure, seen as out of memory when its message or the server's `log_tail` holds
    /// an out-of-memory signature.
    pub fn classify(self, log_tail: &[String]) -> TargetError {
        if let TargetError::OutOfMemory { .. } = self {
            return self;
        }
        let signature =
            oom_signature(&self.to_string()).or_else(|| oom_signature(&log_tail.join("\n")));
        match signature {
            Some(signature) => TargetError::OutOfMemory {
                signature,
                cause: Box::new(self),
            },
            None => self,
        }
    }

    /// True for an out-of-memory failure.
    pub fn is_oom(&self) -> bool {
        matches!(self, TargetError::OutOfMemory { .. })
    }

    /// The out-of-memory signature recognised, for an out-of-memory failure.
    pub fn oom_signature(&self) -> Option<&'static str> {
        match self {
            TargetError::OutOfMemory { signature, .. } => Some(signature),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_memory_is_found_in_the_message_or_the_log_and_keeps_the_message() {
        let exited = || {
            TargetError::Launch(ServerError::Exited {
                status: "exit status: 1".into(),
                log: "server.log".into(),
                last: "loading weights".into(),
            })
        };
        let plain = exited().classify(&["loading weights".into()]);
        assert!(!plain.is_oom());
        let oom = exited().classify(&["torch.OutOfMemoryError: CUDA out of memory.".into()]);
        assert!(oom.is_oom());
        assert_eq!(oom.to_string(), exited().to_string());
        let in_message = TargetError::Driver("cudaMalloc failed: out of memory".into());
        assert!(in_message.classify(&[]).is_oom());
    }
}
