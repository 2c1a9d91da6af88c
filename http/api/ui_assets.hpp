#pragma once

// The dashboard's static files (http/ui/), built into the binary at configure time (the
// generated ui_assets_data.cpp, see http/api/CMakeLists.txt), so a node serves its UI with no
// file on disk and nothing fetched from the internet.

#include <string_view>
#include <vector>

namespace ck::http::api {

struct ui_asset {
  std::string_view path;          // "/ui/app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
};

/// Every file of http/ui/, index.html first.
const std::vector<ui_asset>& ui_assets();

}  // namespace ck::http::api
