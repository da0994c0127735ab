#include "server/grpc_request_counter.h"

#include "server/grpc_status.h"

namespace mailroom::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

class GrpcRequestCounter final : public grpc::experimental::Interceptor {
 public:
  GrpcRequestCounter(Metrics* metrics, const char* method) : metrics_(metrics), method_(method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_->CountGrpcRequest(method_, GrpcCodeName(methods->GetSendStatus().error_code()));
    }
    methods->Proceed();
  }

 private:
  Metrics* const metrics_;
  const char* const method_;
};

}  // namespace

grpc::experimental::Interceptor* GrpcRequestCounterFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  // Calls to methods no service knows have no name worth a time series of their own.
  const char* method = info->method() != nullptr ? info->method() : "unknown";
  return new GrpcRequestCounter(metrics_, method);
}

}  // namespace mailroom::server
