// UnimplementedService: a service of the v1 API whose issue has not landed yet.
//
// It is registered like a real service, so reflection lists it and grpcurl can describe
// it, and every method answers UNIMPLEMENTED with a message that says when it will work,
// instead of gRPC's anonymous "method not found". Built from the service's descriptor, so
// that no method has to be written out by hand.
#ifndef MAILROOM_SERVER_UNIMPLEMENTED_SERVICE_H_
#define MAILROOM_SERVER_UNIMPLEMENTED_SERVICE_H_

#include <grpcpp/impl/codegen/service_type.h>

#include <deque>
#include <string>

#include "google/protobuf/descriptor.h"

namespace mailroom::server {

class UnimplementedService final : public grpc::Service {
 public:
  // `reason` completes the sentence "<method> is not implemented yet: <reason>".
  UnimplementedService(const google::protobuf::ServiceDescriptor& service, std::string reason);

 private:
  // gRPC keeps the method paths as C strings; they live here.
  std::deque<std::string> paths_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_UNIMPLEMENTED_SERVICE_H_
