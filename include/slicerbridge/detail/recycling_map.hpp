#ifndef SLICERBRIDGE_DETAIL_RECYCLING_MAP_HPP
#define SLICERBRIDGE_DETAIL_RECYCLING_MAP_HPP

#include <cstddef>
#include <utility>
#include <vector>

namespace slicerbridge::detail {

/// A map that keeps the nodes of up to `max_spare_nodes` erased entries for the next ones, so
/// that a connection's calls in flight cost no allocation once it has warmed up.
template <class Map>
class recycling_map {
public:
    using iterator = typename Map::iterator;
    static constexpr std::size_t max_spare_nodes = 64;

    std::size_t size() const noexcept { return map_.size(); }
    bool empty() const noexcept { return map_.empty(); }
    std::size_t count(const typename Map::key_type& key) const { return map_.count(key); }
    iterator find(const typename Map::key_type& key) { return map_.find(key); }
    typename Map::const_iterator find(const typename Map::key_type& key) const {
        return map_.find(key);
    }
    iterator begin() noexcept { return map_.begin(); }
    iterator end() noexcept { return map_.end(); }
    typename Map::const_iterator begin() const noexcept { return map_.begin(); }
    typename Map::const_iterator end() const noexcept { return map_.end(); }

    /// Adds `key` with a default-constructed mapped value (or one reset to that state, in a
    /// reused node); the caller knows that `key` is not in the map.
    iterator emplace_new(const typename Map::key_type& key) {
        if (spare_.empty()) {
            return map_.try_emplace(key).first;
        }
        auto node = std::move(spare_.back());
        spare_.pop_back();
        node.key() = key;
        return map_.insert(std::move(node)).position;
    }

    /// Erases the entry at `at`, its mapped value reset to a default-constructed one at once
    /// (it frees what it holds as `erase` would).
    void erase(iterator at) {
        if (spare_.size() >= max_spare_nodes) {
            map_.erase(at);
            return;
        }
        auto node = map_.extract(at);
        node.mapped() = typename Map::mapped_type{};
        spare_.push_back(std::move(node));
    }

    /// Erases every entry; the spare nodes stay.
    void clear() noexcept { map_.clear(); }

    /// Takes the entry at `at` out of the map; `recycle` keeps its node for a later entry.
    typename Map::node_type extract(iterator at) { return map_.extract(at); }

    /// Keeps `node`, an extracted one whose mapped value is back in its default-constructed
    /// state, for reuse.
    void recycle(typename Map::node_type&& node) {
        if (spare_.size() < max_spare_nodes) {
            spare_.push_back(std::move(node));
        }
    }

private:
    Map map_;
    std::vector<typename Map::node_type> spare_;
};

} // namespace slicerbridge::detail

#endif
