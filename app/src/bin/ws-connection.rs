//! `ws-connection`: the `$connect` and `$disconnect` Lambda function.

use perfmon_chat::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    perfmon_chat::aws::run_lambda(&[Route::Connect, Route::Disconnect]).await
}
