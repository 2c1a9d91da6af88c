#include "http/client/ctl/output.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace ck::ctl {

int report(const std::string& what, const client::error& e) {
  std::cerr << "clusterkit-ctl: " << what << ": " << e.message;
  if (!e.code.empty()) {
    std::cerr << " (" << e.code << ")";
  }
  std::cerr << "\n";
  switch (e.kind) {
    case client::error_kind::not_found:
      return exit_not_found;
    case client::error_kind::unavailable:
      return exit_unavailable;
    case client::error_kind::outcome_unknown:
      return exit_unknown;
    case client::error_kind::invalid_argument:
    case client::error_kind::unauthorized:
    case client::error_kind::conflict:
    case client::error_kind::storage_full:
      return exit_refused;
    case client::error_kind::server:
      return exit_failed;
  }
  return exit_failed;
}

int fail(const std::string& message, int code) {
  std::cerr << "clusterkit-ctl: " << message << "\n";
  return code;
}

std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) {
    measure(row);
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string text;
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      text += row[i];
      if (i + 1 < row.size()) {
        text += std::string(width[i] - row[i].size() + 2, ' ');
      }
    }
    out += text + "\n";
  };
  line(header);
  for (const auto& row : rows) {
    line(row);
  }
  return out;
}

progress::progress(std::string label) : label_(std::move(label)), tty_(::isatty(2) == 1) {}

void progress::update(size_t done, size_t total) {
  if (done == last_done_ && total == last_total_) {
    return;
  }
  last_done_ = done;
  last_total_ = total;
  if (!tty_) {
    std::cerr << label_ << ": " << done << "/" << total << " done\n";
    return;
  }
  constexpr size_t bar = 30;
  const size_t filled = total == 0 ? bar : std::min(bar, done * bar / total);
  std::cerr << "\r" << label_ << " [" << std::string(filled, '#') << std::string(bar - filled, '.')
            << "] " << done << "/" << total << std::flush;
}

void progress::finish() {
  if (tty_ && last_done_ != SIZE_MAX) {
    std::cerr << "\n";
  }
}

}  // namespace ck::ctl
