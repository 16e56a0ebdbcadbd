#include "server/openai_request.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.hpp"
#include "grammar/json_schema.hpp"
#include "server/api_error.hpp"
#include "text/chat_json.hpp"
#include "text/json_limits.hpp"

namespace scout::server {

namespace {

using Json = nlohmann::ordered_json;

[[noreturn]] void bad(const std::string& param, const std::string& message) { throw ApiError(400, message, param); }

Json parse_body(std::string_view body) {
    if (text::json_nesting_exceeds(body))
        throw ApiError(400, cat("the request body nests JSON deeper than ", text::kMaxJsonDepth, " levels"), "",
                       "invalid_request_error", "invalid_json");
    Json j;
    try {
        // nlohmann rejects ill-formed UTF-8 inside strings, so invalid UTF-8 is a 400 here too.
        j = Json::parse(body);
    } catch (const nlohmann::json::exception& e) {
        throw ApiError(400, cat("the request body is not valid JSON: ", e.what()), "", "invalid_request_error",
                       "invalid_json");
    }
    if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object", "", "invalid_request_error", "invalid_json");
    return j;
}

// A present, non-null field (OpenAI clients send null for "not set").
const Json* field(const Json& j, const char* name) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return nullptr;
    return &*it;
}

std::optional<double> number(const Json& j, const char* name, double lo, double hi) {
    const Json* v = field(j, name);
    if (!v) return std::nullopt;
    if (!v->is_number()) bad(name, cat("'", name, "' must be a number"));
    const double x = v->get<double>();
    if (!std::isfinite(x) || x < lo || x > hi) bad(name, cat("'", name, "' must be between ", lo, " and ", hi, "; got ", x));
    return x;
}

std::optional<int64_t> integer(const Json& j, const char* name, int64_t lo, int64_t hi) {
    const Json* v = field(j, name);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) bad(name, cat("'", name, "' must be an integer"));
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        bad(name, cat("'", name, "' is too large"));
    const int64_t x = v->get<int64_t>();
    if (x < lo || x > hi) bad(name, cat("'", name, "' must be between ", lo, " and ", hi, "; got ", x));
    return x;
}

std::optional<bool> boolean(const Json& j, const char* name) {
    const Json* v = field(j, name);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) bad(name, cat("'", name, "' must be true or false"));
    return v->get<bool>();
}

std::string model_name(const Json& j) {
    const Json* v = field(j, "model");
    if (!v) return {};
    if (!v->is_string()) bad("model", "'model' must be a string");
    return v->get<std::string>();
}

SamplingRequest parse_sampling(const Json& j, bool chat) {
    SamplingRequest s;
    if (auto x = number(j, "temperature", 0, 2)) s.temperature = static_cast<float>(*x);
    if (auto x = number(j, "top_p", 0, 1)) {
        if (*x <= 0) bad("top_p", "'top_p' must be greater than 0");
        s.top_p = static_cast<float>(*x);
    }
    if (auto x = number(j, "min_p", 0, 1)) s.min_p = static_cast<float>(*x);
    if (auto x = number(j, "presence_penalty", -2, 2)) s.presence_penalty = static_cast<float>(*x);
    if (auto x = number(j, "frequency_penalty", -2, 2)) s.frequency_penalty = static_cast<float>(*x);
    if (auto x = number(j, "repetition_penalty", 0, 10)) {
        if (*x <= 0) bad("repetition_penalty", "'repetition_penalty' must be greater than 0");
        s.repetition_penalty = static_cast<float>(*x);
    }
    if (auto x = integer(j, "top_k", -1, 1 << 20)) s.top_k = static_cast<int>(std::max<int64_t>(*x, 0));
    if (const Json* v = field(j, "seed")) {
        if (!v->is_number_integer()) bad("seed", "'seed' must be an integer");
        s.seed = v->is_number_unsigned() ? v->get<uint64_t>() : static_cast<uint64_t>(v->get<int64_t>());
    }
    const int64_t big = int64_t{1} << 40;
    if (auto x = integer(j, "max_tokens", 1, big)) s.max_tokens = *x;
    if (chat)
        if (auto x = integer(j, "max_completion_tokens", 1, big)) s.max_tokens = *x;
    if (const Json* v = field(j, "stop")) {
        if (v->is_string()) {
            s.stop.push_back(v->get<std::string>());
        } else if (v->is_array()) {
            if (v->size() > 16) bad("stop", "'stop' may hold at most 16 strings");
            for (const auto& e : *v) {
                if (!e.is_string()) bad("stop", "'stop' must be a string or a list of strings");
                s.stop.push_back(e.get<std::string>());
            }
        } else {
            bad("stop", "'stop' must be a string or a list of strings");
        }
        for (const auto& x : s.stop)
            if (x.empty()) bad("stop", "stop strings must not be empty");
    }
    s.stream = boolean(j, "stream").value_or(false);
    if (const Json* v = field(j, "stream_options")) {
        if (!v->is_object()) bad("stream_options", "'stream_options' must be an object");
        if (!s.stream) bad("stream_options", "'stream_options' is only allowed with \"stream\": true");
        s.include_usage = boolean(*v, "include_usage").value_or(false);
    }
    if (auto n = integer(j, "n", 1, 1 << 20); n && *n != 1) bad("n", "only n = 1 is supported");
    if (const Json* v = field(j, "logit_bias")) {
        if (!v->is_object()) bad("logit_bias", "'logit_bias' must be an object");
        if (!v->empty()) bad("logit_bias", "'logit_bias' is not supported");
    }
    if (chat) {
        const bool lp = boolean(j, "logprobs").value_or(false);
        auto top = integer(j, "top_logprobs", 0, 20);
        if (top && !lp) bad("top_logprobs", "'top_logprobs' needs \"logprobs\": true");
        if (lp) s.top_logprobs = static_cast<int>(top.value_or(0));
    } else {
        if (auto x = integer(j, "logprobs", 0, 5)) s.top_logprobs = static_cast<int>(*x);
    }
    return s;
}

void parse_tools(const Json& j, ChatRequest& r) {
    if (const Json* v = field(j, "tools")) {
        if (!v->is_array()) bad("tools", "'tools' must be a list");
        for (std::size_t i = 0; i < v->size(); ++i) {
            const Json& t = (*v)[i];
            const std::string where = cat("tools[", i, "]");
            if (!t.is_object() || !t.contains("type") || t["type"] != "function")
                bad(where, where + " must be {\"type\": \"function\", \"function\": {...}}");
            const Json* f = field(t, "function");
            if (!f || !f->is_object()) bad(where + ".function", where + ".function must be an object");
            const Json* name = field(*f, "name");
            if (!name || !name->is_string() || name->get<std::string>().empty())
                bad(where + ".function.name", where + ".function.name must be a non-empty string");
            ToolSpec spec;
            spec.name = name->get<std::string>();
            for (char c : spec.name)
                if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
                    bad(where + ".function.name", "function names may use letters, digits, '_', '-' and '.' only");
            if (const Json* d = field(*f, "description")) {
                if (!d->is_string()) bad(where + ".function.description", "the description must be a string");
                spec.description = d->get<std::string>();
            }
            if (const Json* p = field(*f, "parameters")) {
                if (!p->is_object()) bad(where + ".function.parameters", "the parameters must be a JSON schema object");
                spec.parameters = *p;
            }
            r.tools.push_back(std::move(spec));
        }
    }
    if (const Json* v = field(j, "tool_choice")) {
        if (v->is_string()) {
            const std::string c = v->get<std::string>();
            if (c == "none") r.tool_choice = ToolChoice::none;
            else if (c == "auto") r.tool_choice = ToolChoice::auto_;
            else if (c == "required") r.tool_choice = ToolChoice::required;
            else bad("tool_choice", "'tool_choice' must be \"none\", \"auto\", \"required\" or a function");
        } else if (v->is_object()) {
            const Json* f = field(*v, "function");
            const Json* name = f && f->is_object() ? field(*f, "name") : nullptr;
            if (!name || !name->is_string()) bad("tool_choice", "'tool_choice' needs function.name");
            r.tool_choice = ToolChoice::named;
            r.tool_choice_name = name->get<std::string>();
            bool known = false;
            for (const auto& t : r.tools) known = known || t.name == r.tool_choice_name;
            if (!known) bad("tool_choice", cat("'tool_choice' names '", r.tool_choice_name, "', which is not in tools"));
        } else {
            bad("tool_choice", "'tool_choice' must be a string or an object");
        }
        if (r.tools.empty() && r.tool_choice != ToolChoice::none && r.tool_choice != ToolChoice::auto_)
            bad("tool_choice", "'tool_choice' needs 'tools'");
    }
    if (const Json* v = field(j, "parallel_tool_calls"); v && !v->is_boolean())
        bad("parallel_tool_calls", "'parallel_tool_calls' must be true or false");
}

// tool_choice required / a named function -> the grammar of the pythonic call list, so that the
// reply always parses as calls with arguments valid for each function's parameters schema
// (docs/structured-output.md, "Tool calls").
std::shared_ptr<const grammar::Grammar> tool_call_constraint(const Json& j, const ChatRequest& r) {
    std::vector<grammar::ToolFunction> functions;
    for (const auto& t : r.tools)
        if (r.tool_choice != ToolChoice::named || t.name == r.tool_choice_name) functions.push_back({t.name, t.parameters});
    const Json* parallel = field(j, "parallel_tool_calls");
    try {
        return grammar::tool_call_grammar(functions, parallel ? parallel->get<bool>() : true);
    } catch (const Error& e) {
        bad("tools", cat("tool_choice '", r.tool_choice == ToolChoice::named ? r.tool_choice_name : "required",
                         "' constrains the reply to the functions' parameter schemas, and ", e.what()));
    }
}

// response_format -> the grammar the reply must follow (docs/structured-output.md); null for text.
std::shared_ptr<const grammar::Grammar> parse_response_format(const Json& j) {
    const Json* v = field(j, "response_format");
    if (!v) return nullptr;
    if (!v->is_object() || !v->contains("type") || !(*v)["type"].is_string())
        bad("response_format", "'response_format' must be an object with a \"type\"");
    const std::string type = (*v)["type"].get<std::string>();
    if (type == "text") return nullptr;
    try {
        if (type == "json_object") return grammar::json_object_grammar();
        if (type == "json_schema") {
            const Json* js = field(*v, "json_schema");
            if (!js || !js->is_object()) bad("response_format", "'response_format.json_schema' must be an object");
            if (js->contains("strict") && !(*js)["strict"].is_boolean())
                bad("response_format", "'response_format.json_schema.strict' must be a boolean");
            if (!js->contains("schema")) bad("response_format", "'response_format.json_schema.schema' is required");
            return grammar::json_schema_to_grammar((*js)["schema"]);
        }
    } catch (const Error& e) {
        bad("response_format", cat("response_format: ", e.what()));
    }
    bad("response_format", cat("'response_format.type' must be \"text\", \"json_object\" or \"json_schema\", not \"", type, "\""));
}

}  // namespace

ChatRequest parse_chat_request(std::string_view body) {
    const Json j = parse_body(body);
    ChatRequest r;
    r.model = model_name(j);
    const Json* m = field(j, "messages");
    if (!m) bad("messages", "'messages' is required");
    if (!m->is_array() || m->empty()) bad("messages", "'messages' must be a non-empty list");
    try {
        r.messages = text::parse_chat_messages(m->dump());
    } catch (const Error& e) {
        bad("messages", e.what());
    }
    r.sampling = parse_sampling(j, true);
    parse_tools(j, r);
    r.sampling.grammar = parse_response_format(j);
    if (r.tool_choice == ToolChoice::required || r.tool_choice == ToolChoice::named) {
        if (r.sampling.grammar)
            bad("response_format", "'response_format' together with 'tool_choice' required or a named function is not supported");
        r.sampling.grammar = tool_call_constraint(j, r);
    }
    return r;
}

CompletionRequest parse_completion_request(std::string_view body) {
    const Json j = parse_body(body);
    CompletionRequest r;
    r.model = model_name(j);
    const Json* p = field(j, "prompt");
    if (!p) bad("prompt", "'prompt' is required");
    if (p->is_string()) {
        r.prompt = p->get<std::string>();
    } else if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
        r.prompt = (*p)[0].get<std::string>();
    } else if (p->is_array() && !p->empty() && (*p)[0].is_number_integer()) {
        for (const auto& t : *p) {
            if (!t.is_number_integer()) bad("prompt", "a token prompt must be a list of integers");
            const int64_t id = t.get<int64_t>();
            if (id < 0 || id > std::numeric_limits<int32_t>::max()) bad("prompt", cat("token id ", id, " is out of range"));
            r.prompt_tokens.push_back(static_cast<int32_t>(id));
        }
    } else {
        bad("prompt", "'prompt' must be a string, a list of one string, or a list of token ids");
    }
    if (r.prompt.empty() && r.prompt_tokens.empty()) bad("prompt", "'prompt' is empty");
    r.echo = boolean(j, "echo").value_or(false);
    if (const Json* s = field(j, "suffix"); s && !(s->is_string() && s->get<std::string>().empty()))
        bad("suffix", "'suffix' is not supported");
    if (auto b = integer(j, "best_of", 1, 1 << 20); b && *b != 1) bad("best_of", "only best_of = 1 is supported");
    r.sampling = parse_sampling(j, false);
    r.sampling.grammar = parse_response_format(j);
    return r;
}

}  // namespace scout::server
