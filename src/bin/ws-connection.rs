//! `ws-connection`: the `$connect` and `$disconnect` Lambda function.

use perfmon::app::Route;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    perfmon::app::aws::run_lambda(&[Route::Connect, Route::Disconnect]).await
}
