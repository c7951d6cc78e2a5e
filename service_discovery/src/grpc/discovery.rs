//! `sd.DiscoveryService`: the six RPCs of the original service, each a thin
//! translation onto the storage trait.

use tonic::{Request, Response, Status};

use super::proto::discovery_service_server::DiscoveryService;
use super::proto::{
    AddNamedPortsRequest, AddNamedPortsResponse, CreateServiceRequest, CreateServiceResponse,
    GetServiceRequest, GetServiceResponse, ListServicesRequest, ListServicesResponse,
    LookupEndpointsRequest, LookupEndpointsResponse, RegisterEndpointRequest,
    RegisterEndpointResponse,
};
use super::{convert, status};
use crate::storage::SharedStorage;

pub(super) struct Discovery {
    storage: SharedStorage,
}

impl Discovery {
    pub(super) fn new(storage: SharedStorage) -> Self {
        Self { storage }
    }
}

#[tonic::async_trait]
impl DiscoveryService for Discovery {
    async fn get_service(
        &self,
        request: Request<GetServiceRequest>,
    ) -> Result<Response<GetServiceResponse>, Status> {
        let name = convert::service_name("service_name", &request.get_ref().service_name)?;
        let service = self
            .storage
            .get_service(&name)
            .await
            .map_err(status::from_storage)?;
        Ok(Response::new(GetServiceResponse {
            service: Some(convert::service_to_proto(service)),
        }))
    }

    async fn create_service(
        &self,
        request: Request<CreateServiceRequest>,
    ) -> Result<Response<CreateServiceResponse>, Status> {
        let service = convert::service(request.into_inner().service)?;
        let id = self
            .storage
            .create_service(service)
            .await
            .map_err(status::from_storage)?;
        Ok(Response::new(CreateServiceResponse { id: id.to_string() }))
    }

    async fn list_services(
        &self,
        _request: Request<ListServicesRequest>,
    ) -> Result<Response<ListServicesResponse>, Status> {
        let services = self
            .storage
            .list_services()
            .await
            .map_err(status::from_storage)?;
        Ok(Response::new(ListServicesResponse {
            services: services
                .into_iter()
                .map(convert::service_to_proto)
                .collect(),
        }))
    }

    async fn add_named_ports(
        &self,
        request: Request<AddNamedPortsRequest>,
    ) -> Result<Response<AddNamedPortsResponse>, Status> {
        let request = request.into_inner();
        let name = convert::service_name("service_name", &request.service_name)?;
        let ports = convert::named_ports("named_ports", request.named_ports)?;
        self.storage
            .add_named_ports(&name, ports)
            .await
            .map_err(status::from_storage)?;
        Ok(Response::new(AddNamedPortsResponse {}))
    }

    async fn lookup_endpoints(
        &self,
        request: Request<LookupEndpointsRequest>,
    ) -> Result<Response<LookupEndpointsResponse>, Status> {
        let name = convert::service_name("service_name", &request.get_ref().service_name)?;
        let endpoints = self
            .storage
            .lookup_endpoints(&name)
            .await
            .map_err(status::from_storage)?;
        Ok(Response::new(LookupEndpointsResponse {
            endpoints: endpoints
                .into_iter()
                .map(convert::endpoint_to_proto)
                .collect(),
        }))
    }

    async fn register_endpoint(
        &self,
        request: Request<RegisterEndpointRequest>,
    ) -> Result<Response<RegisterEndpointResponse>, Status> {
        let request = request.into_inner();
        let name = convert::service_name("service_name", &request.service_name)?;
        let endpoint = convert::endpoint(name, request.endpoint)?;
        self.storage
            .register_endpoint(endpoint)
            .await
            .map_err(status::from_storage)?;
        Ok(Response::new(RegisterEndpointResponse {}))
    }
}
