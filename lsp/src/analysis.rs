//! One analysis of one document: the real compiler's check of its text in
//! its project, with the editor's unsaved schema files laid over the disk.
//!
//! Analyses run on their own threads (with the stack the compiler needs),
//! never on the protocol task; a panic becomes an error value and a log
//! line, and a time limit bounds every run, so no request hangs the server.

use mapwright_compiler::REQUIRED_STACK;
use mapwright_compiler::diagnostics::Diagnostic;
use mapwright_compiler::ide::FileView;
use mapwright_compiler::resolve::{LoadOutcome, LoadedModule, ModuleLoader, Workspace};
use mapwright_compiler::source::Origin;
use mapwright_compiler::types::ModuleId;
use mapwright_project::{FsLoader, find_root, module_path_of};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long one analysis or feature may run before the request fails.
pub const TIME_LIMIT: Duration = Duration::from_secs(10);

/// Finds modules on disk, except those open in the editor, whose unsaved
/// text wins.
pub struct OverlayLoader {
    disk: FsLoader,
    /// Open `.schema` documents of the project: module path → (file name, text).
    open: HashMap<String, (String, String)>,
}

impl ModuleLoader for OverlayLoader {
    fn load(&self, path: &str) -> LoadOutcome {
        match self.open.get(path) {
            Some((name, text)) => LoadOutcome::Found(LoadedModule {
                name: name.clone(),
                bytes: text.as_bytes().to_vec(),
                origin: Origin::User,
            }),
            None => self.disk.load(path),
        }
    }

    fn module_paths(&self) -> Vec<String> {
        let mut paths = self.disk.module_paths();
        paths.extend(self.open.keys().cloned());
        paths.sort();
        paths.dedup();
        paths
    }
}

/// A document's text as the editor has it.
#[derive(Clone, Debug)]
pub struct Source {
    /// Its path on disk (where it is, or would be, saved).
    pub path: PathBuf,
    /// Its text (shared: every request's snapshot holds every open
    /// document's text).
    pub text: Arc<String>,
}

/// The result of checking one document.
pub struct Analysis {
    /// The workspace it was checked in.
    pub workspace: Workspace<OverlayLoader>,
    /// The document's module.
    pub module: Option<ModuleId>,
    /// Its diagnostics (and those of modules first loaded for it).
    pub diagnostics: Vec<Diagnostic>,
    /// The project root, when there is one.
    pub root: Option<PathBuf>,
}

impl Analysis {
    /// The view of the document, for the editor features.
    pub fn view(&self) -> Option<FileView<'_, OverlayLoader>> {
        FileView::new(&self.workspace, self.module?)
    }
}

/// Checks `document` in its project, with the other open documents' text
/// (`others`) laid over the disk.
pub fn analyze(document: &Source, others: &[Source]) -> Analysis {
    let root = document.path.parent().and_then(find_root);
    let mut open = HashMap::new();
    if let Some(root) = &root {
        for other in others {
            if other.path != document.path
                && let Some(module) = module_path_of(&other.path, root)
            {
                open.insert(module, (other.path.display().to_string(), other.text.as_ref().clone()));
            }
        }
    }
    let loader = OverlayLoader {
        disk: FsLoader::new(root.clone(), None),
        open,
    };
    let module_path = root.as_ref().and_then(|root| module_path_of(&document.path, root));
    let mut workspace = Workspace::new(loader);
    let name = document.path.display().to_string();
    let result = workspace.check(&name, document.text.as_bytes().to_vec(), module_path.as_deref());
    Analysis {
        workspace,
        module: result.module,
        diagnostics: result.diagnostics,
        root,
    }
}

/// Why a guarded run gave no answer.
#[derive(Debug)]
pub enum RunError {
    /// The work panicked: a bug, with its message.
    Panicked(String),
    /// It took longer than [`TIME_LIMIT`].
    TimedOut,
    /// No thread could be started.
    NoThread(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Panicked(message) => write!(f, "the analysis failed (a bug in mapc-lsp): {message}"),
            RunError::TimedOut => write!(f, "the analysis took longer than {} s", TIME_LIMIT.as_secs()),
            RunError::NoThread(error) => write!(f, "no thread for the analysis: {error}"),
        }
    }
}

/// Runs `work` on a thread of its own with the compiler's stack; a panic or
/// a run past [`TIME_LIMIT`] is an error, never a dead server. A run that
/// times out is left to finish on its own thread; its result is dropped.
pub async fn guarded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, RunError> {
    guarded_within(TIME_LIMIT, work).await
}

/// [`guarded`] with another time limit.
pub async fn guarded_within<T: Send + 'static>(
    limit: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RunError> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("mapc-lsp analysis".to_owned())
        .stack_size(REQUIRED_STACK)
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = sender.send(outcome);
        })
        .map_err(|error| RunError::NoThread(error.to_string()))?;
    match tokio::time::timeout(limit, receiver).await {
        Ok(Ok(Ok(value))) => Ok(value),
        Ok(Ok(Err(panic))) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            Err(RunError::Panicked(message))
        }
        Ok(Err(_)) => Err(RunError::Panicked(
            "the analysis thread ended without an answer".to_owned(),
        )),
        Err(_) => Err(RunError::TimedOut),
    }
}

/// A shared analysis: a workspace's loader reads the disk lazily and is not
/// `Sync`, so requests take turns on it.
pub type Shared = Arc<std::sync::Mutex<Analysis>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_an_error_with_its_message_and_the_caller_goes_on() {
        let outcome = guarded(|| -> u32 { panic!("boom in analysis") }).await;
        assert!(
            matches!(&outcome, Err(RunError::Panicked(message)) if message == "boom in analysis"),
            "{outcome:?}"
        );
        assert_eq!(guarded(|| 41 + 1).await.ok(), Some(42));
    }

    #[tokio::test]
    async fn work_past_the_limit_is_a_timeout() {
        let outcome = guarded_within(Duration::from_millis(50), || std::thread::sleep(Duration::from_secs(2))).await;
        assert!(matches!(outcome, Err(RunError::TimedOut)), "{outcome:?}");
    }

    #[tokio::test]
    async fn deep_input_has_the_compilers_stack() {
        // 250 nested parentheses: within the parser's limits, and checked on
        // the analysis thread's stack without overflowing.
        let text = format!(
            "mapping m(x: canonical.invoice.Invoice) -> canonical.invoice.Invoice {{ id = {}x.id{} }}",
            "(".repeat(250),
            ")".repeat(250)
        );
        let source = Source {
            path: std::env::temp_dir().join("mapc-lsp-deep.map"),
            text: Arc::new(text),
        };
        let outcome = guarded(move || analyze(&source, &[]).module.is_some()).await;
        assert_eq!(outcome.ok(), Some(true));
    }
}
