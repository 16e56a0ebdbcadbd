// The chat page served at `/`: one self-contained HTML document (no external assets).
#pragma once

#include <string>

namespace scout::server {

const std::string& chat_page_html();

}  // namespace scout::server
