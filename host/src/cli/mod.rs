//! The `cityhost` command line (clap).

mod audit;
pub mod backends;
pub mod build_apps;
mod config;
pub mod demo;
pub mod dev;
mod identity;
mod ledger;
mod migrate_store;
pub mod publish;
pub mod scaffold;
mod serve;
mod sources;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::admission::AdmissionConfig;
use crate::runtime::DEFAULT_MEMORY_BUDGET;

/// CityHost: government services as sandboxed WebAssembly mini-apps in one
/// super-app.
#[derive(Parser)]
#[command(name = "cityhost", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the host with the mini-apps found in the apps directories.
    Serve(ServeArgs),
    /// Build the bundled mini-apps (and examples) for wasm32-wasip2.
    BuildApps(BuildArgs),
    /// Build the bundled mini-apps, seed demo citizens and data, and serve.
    Demo(ServeArgs),
    /// Print an app's audit records (with the host stopped), or verify
    /// an export of them against their hash chain (`audit verify FILE`).
    Audit(audit::AuditArgs),
    /// Verify the ledger, top up a citizen's card, print a settlement
    /// statement (with the host stopped).
    Ledger(ledger::LedgerArgs),
    /// Copy an embedded deployment's records (`DATA_DIR/db`, host stopped)
    /// into an empty PostgreSQL database, check every record and the
    /// ledger there.
    MigrateStore(migrate_store::MigrateStoreArgs),
    /// Import a CSV of `name,id_number` records into the host's population
    /// registry (with the host stopped; while it runs use
    /// `POST /api/operator/population`).
    ImportPopulation(identity::ImportArgs),
    /// Rotate the ID-token signing key (safe while the host runs; the old
    /// public key stays published until its tokens have expired).
    RotateIdKey(identity::RotateArgs),
    /// Create a new mini-app crate from the template.
    New(scaffold::NewArgs),
    /// Build a mini-app crate for wasm32-wasip2 and check it as the host would.
    Build(scaffold::BuildOneArgs),
    /// Serve the mini-app crate in a directory on a local host with demo
    /// citizens, reloading it when its sources change.
    Dev(dev::DevArgs),
    /// Make an Ed25519 signing key for a department's packages.
    Keygen(publish::KeygenArgs),
    /// Sign a mini-app package, upload it to a host and submit it for review.
    Publish(publish::PublishArgs),
    /// Show an app's versions and what citizens are shown.
    Status(publish::StatusArgs),
    /// Operator commands: review queue, approve, reject, release, rollback.
    #[command(subcommand)]
    Operator(publish::OperatorCommand),
    /// A department's app configuration: set, unset and list variables and
    /// secrets (over the department API).
    #[command(subcommand)]
    Config(config::ConfigCommand),
}

/// Where to listen, where the state is and where the apps are.
#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "CITYHOST_BIND")]
    pub bind: SocketAddr,
    /// Data directory (database, keys, compiled-component cache).
    #[arg(long, default_value = "data", env = "CITYHOST_DATA")]
    pub data: PathBuf,
    /// Keep the records in PostgreSQL instead of the data directory's
    /// embedded database: `postgres://user:password@host:port/db` (prefer
    /// the environment variable, which keeps a password out of the process
    /// list). The host creates and upgrades its tables at start. TLS:
    /// `?sslmode=verify-full&sslrootcert=/path/ca.pem` (the server's
    /// certificate is always verified when TLS is used).
    #[arg(
        long,
        env = "CITYHOST_STORE",
        value_name = "URL",
        hide_env_values = true
    )]
    pub store: Option<String>,
    /// Directories holding one mini-app each (with its `cityhost.toml`), or
    /// parents of such directories; repeat to add more (e.g. `--apps
    /// miniapps --apps examples` to serve the examples too).
    #[arg(long = "apps", default_values = ["miniapps"])]
    pub apps: Vec<PathBuf>,
    /// Directory of the compiled components (`{app_id with _}.wasm`);
    /// default: where `cityhost build-apps` puts them.
    #[arg(long)]
    pub components: Option<PathBuf>,
    // Identity.
    /// The host's public base URL, the issuer (`iss`) of its ID tokens;
    /// default `http://{bind}`. An `https://` URL means the host is served
    /// behind TLS: its cookies are then `Secure` and every response carries
    /// `Strict-Transport-Security` (docs/security.md).
    #[arg(long, env = "CITYHOST_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Another origin (`scheme://host[:port]`) the host's pages are served
    /// from, whose browser requests may change state; repeat for more.
    /// The public URL's origin is always one (and, when it names this
    /// machine, `localhost`, `127.0.0.1` and `[::1]` on its port); the
    /// request's `Host` header never is (docs/security.md).
    #[arg(
        long = "public-origin",
        env = "CITYHOST_PUBLIC_ORIGINS",
        value_delimiter = ','
    )]
    pub public_origins: Vec<String>,
    /// The address of a reverse proxy in front of the host whose
    /// `X-Forwarded-For` names the client, for the limits that count per
    /// client (sign-in throttling); repeat for more. Without it the client
    /// is the TCP peer (docs/security.md).
    #[arg(
        long = "trusted-proxy",
        env = "CITYHOST_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// An origin (`http://10.20.0.8:9301`) that mini-apps listing it in
    /// `[http] allow` may reach although it resolves to a loopback or
    /// private address: a department system on the host's own network.
    /// `ORIGIN=IP:PORT` also pins where it is reached, without DNS
    /// (`http://billing.hzwater.internal=127.0.0.1:9301`). Repeat for more.
    /// Others resolving to such addresses are refused (docs/capabilities.md,
    /// `http`).
    #[arg(
        long = "http-local-origin",
        env = "CITYHOST_HTTP_LOCAL_ORIGINS",
        value_delimiter = ',',
        value_parser = crate::outbound::LocalOrigin::parse
    )]
    pub http_local_origins: Vec<crate::outbound::LocalOrigin>,
    /// A PEM file of CA certificates to trust for mini-apps' outbound
    /// `https` calls besides the system's roots (a department's private
    /// CA). Repeat for more.
    #[arg(
        long = "http-ca-file",
        env = "CITYHOST_HTTP_CA_FILES",
        value_delimiter = ','
    )]
    pub http_ca_files: Vec<PathBuf>,
    /// URL of a remote identity authority (`http://...`, see
    /// docs/identity.md); default: the host's own population registry.
    #[arg(long, env = "CITYHOST_IDENTITY_AUTHORITY")]
    pub identity_authority: Option<String>,
    /// Bearer token for the remote identity authority.
    #[arg(
        long,
        env = "CITYHOST_IDENTITY_AUTHORITY_TOKEN",
        hide_env_values = true
    )]
    pub identity_authority_token: Option<String>,
    /// URL of the operator's SMS gateway (`http://...`), to which the host
    /// POSTs each one-time code (docs/identity.md). Without it, or
    /// `--dev-sms`, the host registers no new accounts.
    #[arg(long, env = "CITYHOST_SMS_GATEWAY", conflicts_with = "dev_sms")]
    pub sms_gateway: Option<String>,
    /// Bearer token for the SMS gateway.
    #[arg(long, env = "CITYHOST_SMS_GATEWAY_TOKEN", hide_env_values = true)]
    pub sms_gateway_token: Option<String>,
    /// Send one-time codes to the log and the page `/dev/sms` instead of
    /// phones: for development only (anyone who reads the page can register
    /// any number). `cityhost demo` always does.
    #[arg(long, env = "CITYHOST_DEV_SMS")]
    pub dev_sms: bool,
    /// One-time code messages one client address may ask for per hour
    /// (raise it when many citizens share an address, e.g. behind a
    /// carrier's NAT without a trusted proxy naming them).
    #[arg(
        long,
        default_value_t = crate::identity::phone_codes::MAX_SENDS_PER_CLIENT,
        env = "CITYHOST_SMS_PER_CLIENT_HOUR"
    )]
    pub sms_per_client_hour: usize,
    // Admission (docs/security.md, fair shares).
    /// Requests of one citizen that run at once, across apps.
    #[arg(long, default_value_t = AdmissionConfig::default().per_citizen, env = "CITYHOST_CITIZEN_CONCURRENCY")]
    pub citizen_concurrency: usize,
    /// Requests of one app that run at once.
    #[arg(long, default_value_t = AdmissionConfig::default().per_app, env = "CITYHOST_APP_CONCURRENCY")]
    pub app_concurrency: usize,
    /// Longest a request waits for its turn before a 503 with
    /// `Retry-After`, in milliseconds.
    #[arg(long, default_value_t = AdmissionConfig::default().wait.as_millis() as u64, env = "CITYHOST_QUEUE_WAIT_MS")]
    pub queue_wait_ms: u64,
    /// Linear memory all live mini-app instances may hold together, MiB;
    /// a growth past it ends that request with the memory error.
    #[arg(long, default_value_t = DEFAULT_MEMORY_BUDGET >> 20, env = "CITYHOST_MEMORY_BUDGET_MIB")]
    pub memory_budget_mib: usize,
}

impl ServeArgs {
    /// Where one-time codes go: the development channel for the demo or
    /// with `--dev-sms`, the gateway with `--sms-gateway`, else nowhere.
    pub fn sms(&self, demo: bool) -> crate::platform::SmsConfig {
        use crate::platform::SmsConfig;
        match &self.sms_gateway {
            _ if demo || self.dev_sms => SmsConfig::Dev,
            Some(url) => SmsConfig::Gateway {
                url: url.clone(),
                token: self.sms_gateway_token.clone(),
            },
            None => SmsConfig::Off,
        }
    }

    /// The admission limits these arguments set.
    pub fn admission(&self) -> AdmissionConfig {
        AdmissionConfig {
            per_citizen: self.citizen_concurrency,
            per_app: self.app_concurrency,
            wait: std::time::Duration::from_millis(self.queue_wait_ms),
            ..AdmissionConfig::default()
        }
    }
}

/// Which mini-apps to build.
#[derive(Args, Clone)]
pub struct BuildArgs {
    /// Directories holding mini-app crates (or parents of such directories).
    #[arg(long = "apps", default_values = ["miniapps"])]
    pub apps: Vec<PathBuf>,
}

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => runtime().block_on(serve::serve(args, false)),
        Command::Demo(args) => runtime().block_on(serve::serve(args, true)),
        Command::BuildApps(args) => {
            build_apps::build(&args.apps, &build_apps::target_dir()).map(|_| ())
        }
        Command::Audit(args) => runtime().block_on(audit::run(args)),
        Command::Ledger(args) => runtime().block_on(ledger::run(args)),
        Command::MigrateStore(args) => runtime().block_on(migrate_store::run(args)),
        Command::ImportPopulation(args) => runtime().block_on(identity::import_population(args)),
        Command::RotateIdKey(args) => identity::rotate_id_key(args),
        Command::New(args) => scaffold::new(args),
        Command::Build(args) => scaffold::build(&args).map(|_| ()),
        Command::Dev(args) => runtime().block_on(dev::dev(args)),
        Command::Keygen(args) => publish::keygen(args),
        Command::Publish(args) => runtime().block_on(publish::publish(args)),
        Command::Status(args) => runtime().block_on(publish::status(args)),
        Command::Operator(command) => runtime().block_on(publish::operator(command)),
        Command::Config(command) => runtime().block_on(config::run(command)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,cranelift=warn,wasmtime=warn")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
