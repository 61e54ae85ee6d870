#include "common/status.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace elastos {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd", "value is odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ELASTOS_ASSIGN_OR_RETURN(int half, Half(x));
  return Half(half);
}

Status CheckEven(int x) {
  ELASTOS_RETURN_IF_ERROR(Half(x).status());
  return OkStatus();
}

TEST(Status, CodesMapToWireNamesAndHttp) {
  EXPECT_EQ(CodeName(Code::kPermissionDenied), "permission_denied");
  EXPECT_EQ(HttpStatus(Code::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatus(Code::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatus(Code::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatus(Code::kNotFound), 404);
}

TEST(Status, ErrorCodesRoundTripThroughTheirNamesAndNothingElseIsAnError) {
  for (Code c : {Code::kInvalidArgument, Code::kNotFound, Code::kPermissionDenied,
                 Code::kUnauthenticated, Code::kResourceExhausted, Code::kFailedPrecondition,
                 Code::kInternal, Code::kUnavailable}) {
    EXPECT_EQ(ErrorCodeFromName(CodeName(c)), c);
  }
  EXPECT_EQ(ErrorCodeFromName("ok"), Code::kInternal);  // an error that claims success
  EXPECT_EQ(ErrorCodeFromName("Not_Found"), Code::kInternal);
  EXPECT_EQ(ErrorCodeFromName(""), Code::kInternal);
}

TEST(Status, ContextAndToString) {
  Status s = InvalidArgument("missing_field", "field 'name' is required").WithContext("capsule.json");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "capsule.json: field 'name' is required (missing_field)");
  EXPECT_TRUE(OkStatus().WithContext("x").ok());
}

TEST(Status, IoErrorMapsErrno) {
  EXPECT_EQ(IoError("open f", ENOENT).code(), Code::kNotFound);
  EXPECT_EQ(IoError("open f", EACCES).code(), Code::kPermissionDenied);
  EXPECT_EQ(IoError("write f", ENOSPC).code(), Code::kResourceExhausted);
  EXPECT_EQ(IoError("read f", EIO).code(), Code::kUnavailable);
}

TEST(Result, PropagatesThroughMacros) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().reason(), "odd");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_FALSE(CheckEven(3).ok());
}

TEST(Result, OkStatusWithoutValueIsAnError) {
  Result<int> r = OkStatus();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
}

}  // namespace
}  // namespace elastos
