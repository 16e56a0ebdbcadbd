// An error answered to the client in OpenAI's shape:
//   {"error": {"message": ..., "type": ..., "param": ... | null, "code": ... | null}}
#pragma once

#include <stdexcept>
#include <string>

namespace scout::server {

struct ApiError : std::runtime_error {
    int status;        // HTTP status
    std::string type;  // invalid_request_error, authentication_error, server_error, ...
    std::string param; // the offending field ("" -> null)
    std::string code;  // machine-readable code ("" -> null)

    ApiError(int status_, std::string message, std::string param_ = {}, std::string type_ = {}, std::string code_ = {})
        : std::runtime_error(std::move(message)), status(status_), type(std::move(type_)), param(std::move(param_)),
          code(std::move(code_)) {
        if (type.empty()) type = status >= 500 ? "server_error" : "invalid_request_error";
    }
};

// The JSON body for an error.
std::string error_body(int status, const std::string& message, const std::string& type = {},
                       const std::string& param = {}, const std::string& code = {});

}  // namespace scout::server
