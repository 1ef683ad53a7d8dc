// chorus from C++: one Model served to several threads (one continuous batch),
// streaming, then a composition of experts.
//   generate_and_ask_cpp MODEL [EXPERTS_CONFIG [ROUTER]]
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <chorus/composer.h>
#include <chorus/error.h>
#include <chorus/model.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [EXPERTS_CONFIG [ROUTER]]\n", argv[0]);
    return 2;
  }
  try {
    chorus::Model model = chorus::Model::open(argv[1], {.max_running = 4});
    const chorus::ModelInfo info = model.info();
    std::printf("%s (%s) on %s, %d threads\n", info.name.c_str(), info.architecture.c_str(), info.kernel_path.c_str(),
                info.threads);

    chorus::GenerateParams params;
    params.max_tokens = 24;
    params.temperature = 0;
    params.chat = info.has_chat_template;
    params.on_token = [](const chorus::TokenEvent& e) {
      std::fwrite(e.piece.data(), 1, e.piece.size(), stdout);
      std::fflush(stdout);
      return true;
    };
    const chorus::GenerateResult streamed = model.generate("Once upon a time", params);
    std::printf("\n[%zu tokens, %s]\n", streamed.tokens.size(), streamed.finish_reason.c_str());

    // Four threads, one model: their requests are decoded together.
    params.on_token = nullptr;
    const std::vector<std::string> prompts = {"The cat", "A little bird", "Tom had a", "The sun"};
    std::vector<std::string> answers(prompts.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < prompts.size(); ++i)
      threads.emplace_back([&, i] { answers[i] = model.generate(prompts[i], params).text; });
    for (auto& t : threads) t.join();
    for (size_t i = 0; i < prompts.size(); ++i) std::printf("%s ->%s\n", prompts[i].c_str(), answers[i].c_str());
    std::printf("forward passes: %lld\n", static_cast<long long>(model.load().steps));

    if (argc >= 3) {
      chorus::Composer composer = chorus::Composer::open(argv[2], {.router = argc >= 4 ? argv[3] : ""});
      const chorus::AskResult r = composer.ask("Tell me a story about a brave mouse.");
      std::printf("ask (%s, %zu nodes): %s\n", r.ok ? "ok" : "incomplete", r.nodes.size(), r.answer.c_str());
    }
  } catch (const chorus::Error& e) {
    std::fprintf(stderr, "chorus: %s: %s\n", chorus::error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
