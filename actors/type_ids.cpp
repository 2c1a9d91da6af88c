#include "actors/type_ids.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

namespace ck::actors {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::clusterkit>();
  // The templated add_error_category<T> of 0.17.6 does not compile (its lambda does not match
  // error_renderer), so the renderer is spelled out.
  cfg.add_error_category(caf::atom("ck"), [](uint8_t code, caf::atom_value, const caf::message& ctx) {
    std::string out = "ck: " + to_string(static_cast<errc>(code));
    if (!ctx.empty()) {
      out += " (" + to_string(ctx) + ")";
    }
    return out;
  });
}

}  // namespace ck::actors
