// Stop strings over streamed pieces (api/stop_strings.h): whatever way a text
// is cut into tokens, the answer ends right before the first stop string, and
// what is streamed is exactly the answer.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "api/stop_strings.h"

namespace {

struct Fed {
  std::string streamed, text;
  bool by_string = false;
  int32_t kept = 0;
};

Fed feed(const std::vector<std::string>& pieces, const std::vector<std::string>& stops, int refuse_after = -1) {
  Fed r;
  int emitted = 0;
  chorus::api::StopStrings s(stops, [&](int32_t, const std::string& piece) {
    r.streamed += piece;
    return ++emitted != refuse_after;
  });
  bool going = true;
  for (size_t i = 0; i < pieces.size() && going; ++i) going = s.push(static_cast<int32_t>(i), pieces[i]);
  if (going) s.flush();
  r.text = s.text();
  r.by_string = s.stopped_by_string();
  r.kept = s.tokens_kept();
  return r;
}

TEST(StopStrings, AStopStringAcrossPiecesIsNeverStreamed) {
  const Fed r = feed({"Hello", " wor", "ld", "! END", "ING more"}, {"ENDING"});
  EXPECT_TRUE(r.by_string);
  EXPECT_EQ(r.text, "Hello world! ");
  EXPECT_EQ(r.streamed, r.text);
  EXPECT_EQ(r.kept, 4);  // "! END" is kept in part
}

TEST(StopStrings, APrefixThatDoesNotCompleteIsHandedOnLater) {
  const Fed r = feed({"a", "EN", "D", "x"}, {"ENDING"});
  EXPECT_FALSE(r.by_string);
  EXPECT_EQ(r.text, "aENDx");
  EXPECT_EQ(r.streamed, "aENDx");
  EXPECT_EQ(r.kept, 4);
}

TEST(StopStrings, NoStopsStreamsEveryPieceAsItComes) {
  const Fed r = feed({"a", "", "b"}, {});
  EXPECT_EQ(r.streamed, "ab");
  EXPECT_EQ(r.kept, 3);
}

TEST(StopStrings, TheCallbackCanStop) {
  const Fed r = feed({"a", "b", "c", "d"}, {"zz"}, 2);
  EXPECT_EQ(r.streamed, "ab");
  EXPECT_EQ(r.text, "ab");
  EXPECT_FALSE(r.by_string);
}

TEST(StopStrings, RandomSplitsAndStopsAgreeWithASearchOfTheWholeText) {
  std::mt19937 rng(7);
  const std::string alphabet = "abAB \n";
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text;
    for (int i = 0, n = 1 + rng() % 40; i < n; ++i) text += alphabet[rng() % alphabet.size()];
    std::vector<std::string> stops;
    for (int k = 0, n = rng() % 3; k < n; ++k) {
      std::string s;
      for (int i = 0, m = 1 + rng() % 3; i < m; ++i) s += alphabet[rng() % alphabet.size()];
      stops.push_back(s);
    }
    std::vector<std::string> pieces;
    for (size_t pos = 0; pos < text.size();) {
      const size_t len = std::min<size_t>(rng() % 4, text.size() - pos);  // empty pieces too
      pieces.push_back(text.substr(pos, len));
      pos += len;
    }
    size_t first = std::string::npos;
    for (const auto& s : stops) first = std::min(first, text.find(s));
    const Fed r = feed(pieces, stops);
    const std::string want = first == std::string::npos ? text : text.substr(0, first);
    ASSERT_EQ(r.text, want) << "trial " << trial;
    ASSERT_EQ(r.streamed, want) << "trial " << trial;
    ASSERT_EQ(r.by_string, first != std::string::npos) << "trial " << trial;
  }
}

}  // namespace
