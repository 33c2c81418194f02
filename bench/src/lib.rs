//! The parts of CityHost's benchmark suite, shared by the `cityhost-bench`
//! binary (`bench/run.sh` runs its `suite`) and the criterion benches in
//! `bench/benches/`.

pub mod gen_apps;
pub mod hosts;
pub mod http_load;
pub mod in_process;
pub mod native;
pub mod report;
pub mod stats;
pub mod suite;
