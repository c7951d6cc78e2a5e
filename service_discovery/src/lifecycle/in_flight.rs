//! Counts requests being served, for the admin `status` command and for
//! logging what a shutdown is waiting on. Works as a tower layer so the HTTP
//! and gRPC stacks share one counter.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

#[derive(Clone, Default)]
pub struct InFlight(Arc<AtomicUsize>);

/// Decrements the counter when the request it tracks is done, however it ends.
pub struct InFlightGuard(Arc<AtomicUsize>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl InFlight {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn enter(&self) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(self.0.clone())
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }

    pub fn layer(&self) -> InFlightLayer {
        InFlightLayer(self.clone())
    }
}

#[derive(Clone)]
pub struct InFlightLayer(InFlight);

impl<S> tower_layer::Layer<S> for InFlightLayer {
    type Service = InFlightService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InFlightService {
            inner,
            counter: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct InFlightService<S> {
    inner: S,
    counter: InFlight,
}

impl<S, Req> tower_service::Service<Req> for InFlightService<S>
where
    S: tower_service::Service<Req>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let guard = self.counter.enter();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let out = fut.await;
            drop(guard);
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_decrements_on_drop() {
        let c = InFlight::new();
        let a = c.enter();
        let b = c.enter();
        assert_eq!(c.count(), 2);
        drop(a);
        assert_eq!(c.count(), 1);
        drop(b);
        assert_eq!(c.count(), 0);
    }
}
