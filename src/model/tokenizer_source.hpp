// Where a model's tokenizer comes from, decided in one place for every command:
//   1. --tokenizer PATH (tokenizer.model, tokenizer.json, a directory holding one, or a GGUF file);
//   2. tokenizer.model / tokenizer.json in the checkpoint directory, or beside the GGUF file;
//   3. the GGUF file's own tokenizer.ggml.* vocabulary (model/gguf_tokenizer_read.hpp).
// A file the user placed or named wins over the one embedded in the GGUF.
#pragma once

#include <filesystem>
#include <string>

#include "text/tokenizer.hpp"

namespace scout::model {

struct ModelTokenizer {
    text::Tokenizer tokenizer;
    std::string origin;  // what was used, for the user: a path, or "FILE.gguf (tokenizer.ggml.* vocabulary)"
};

// model: a checkpoint directory or a GGUF file; flag: --tokenizer, empty when not given.
// Throws scout::Error saying what to pass when no tokenizer is found.
ModelTokenizer load_model_tokenizer(const std::filesystem::path& model, const std::filesystem::path& flag);

// A tokenizer from a path as --tokenizer takes it: tokenizer.model, tokenizer.json, a directory,
// or a GGUF file (recognised by its magic, whatever its name).
text::Tokenizer load_tokenizer_path(const std::filesystem::path& path);

// True when path is a regular file starting with the GGUF magic.
bool is_gguf_file(const std::filesystem::path& path);

}  // namespace scout::model
