#include "server/unimplemented_service.h"

#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include "absl/strings/str_cat.h"

namespace mailroom::server {
namespace {

using grpc::ByteBuffer;
using grpc::CallbackServerContext;
using grpc::internal::RpcMethod;

// Reactors that end their call as soon as they exist, for each streaming shape.
template <typename Reactor>
class Refusal final : public Reactor {
 public:
  explicit Refusal(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

RpcMethod::RpcType TypeOf(const google::protobuf::MethodDescriptor& method) {
  if (method.client_streaming() && method.server_streaming()) return RpcMethod::BIDI_STREAMING;
  if (method.client_streaming()) return RpcMethod::CLIENT_STREAMING;
  if (method.server_streaming()) return RpcMethod::SERVER_STREAMING;
  return RpcMethod::NORMAL_RPC;
}

grpc::internal::MethodHandler* RefusingHandler(RpcMethod::RpcType type, grpc::Status status) {
  switch (type) {
    case RpcMethod::NORMAL_RPC:
      return new grpc::internal::CallbackUnaryHandler<ByteBuffer, ByteBuffer>(
          [status](CallbackServerContext* context, const ByteBuffer*, ByteBuffer*) {
            grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
            reactor->Finish(status);
            return reactor;
          });
    case RpcMethod::SERVER_STREAMING:
      return new grpc::internal::CallbackServerStreamingHandler<ByteBuffer, ByteBuffer>(
          [status](CallbackServerContext*, const ByteBuffer*) {
            return new Refusal<grpc::ServerWriteReactor<ByteBuffer>>(status);
          });
    case RpcMethod::CLIENT_STREAMING:
      return new grpc::internal::CallbackClientStreamingHandler<ByteBuffer, ByteBuffer>(
          [status](CallbackServerContext*, ByteBuffer*) {
            return new Refusal<grpc::ServerReadReactor<ByteBuffer>>(status);
          });
    case RpcMethod::BIDI_STREAMING:
      return new grpc::internal::CallbackBidiHandler<ByteBuffer, ByteBuffer>(
          [status](CallbackServerContext*) {
            return new Refusal<grpc::ServerBidiReactor<ByteBuffer, ByteBuffer>>(status);
          });
  }
  return nullptr;
}

}  // namespace

UnimplementedService::UnimplementedService(const google::protobuf::ServiceDescriptor& service,
                                           std::string reason) {
  for (int i = 0; i < service.method_count(); ++i) {
    const google::protobuf::MethodDescriptor& method = *service.method(i);
    const std::string& path =
        paths_.emplace_back(absl::StrCat("/", service.full_name(), "/", method.name()));
    const RpcMethod::RpcType type = TypeOf(method);
    AddMethod(new grpc::internal::RpcServiceMethod(path.c_str(), type, nullptr));
    MarkMethodRawCallback(
        i, RefusingHandler(type, grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                              absl::StrCat(service.name(), ".", method.name(),
                                                           " is not implemented yet: ", reason))));
  }
}

}  // namespace mailroom::server
