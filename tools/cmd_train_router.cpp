// chorus train-router: trains a guarded router from labelled text.
#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/json_text.h"
#include "router/datasets.h"
#include "router/router_file.h"
#include "router/trainer.h"
#include "tools/commands.h"
#include "tools/path_flags.h"
#include "tools/number_flags.h"

namespace chorus::cli {

namespace {
struct TrainRouterArgs {
  std::string data, format = "clinc", labels, out, model = "widemlp", domains, guard = "auto", extra_ood, embeddings, pooling = "mean";
  uint64_t seed = 1;
  int members = 1, hidden = 256, epochs = 30, patience = 5, batch = 32;
  int dim_log2 = 15;
  float lr = 2e-3f, dropout_in = 0.3f, dropout_hidden = 0.5f, ood_weight = 1.0f, char_weight = 1.0f, wd = 0.0f;
  float label_smoothing = 0.1f;
  double min_ood_recall = 0.0;
  bool no_ood_class = false, coarse = false, quiet = false, json = false;
};
}  // namespace

void register_train_router(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<TrainRouterArgs>();
  auto* cmd = app.add_subcommand("train-router", "Train a guarded text router (category classifier + out-of-domain guard)");
  cmd->add_option("--data", a->data, "Labelled data file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--format", a->format, "Data layout: clinc|csv|jsonl")->capture_default_str()->check(CLI::IsMember({"clinc", "csv", "jsonl"}));
  cmd->add_option("--labels", a->labels, "clinc: route on domain or intent")->check(CLI::IsMember({"domain", "intent"}));
  cmd->add_option("--domains", a->domains, "clinc: intent→domain map (default: domains.json beside --data)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--extra-ood", a->extra_ood,
                  "JSONL file whose 'train' texts are added as out-of-domain training examples (labels ignored)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--embeddings", a->embeddings,
                  "use-lite model directory: its pooled token embeddings join the features (stored in the router file)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--pooling", a->pooling, "Pooling of the token embeddings: mean|mean_max")
      ->capture_default_str()->check(CLI::IsMember({"mean", "mean_max"}));
  cmd->add_option("--out", a->out, "Router file to write")->required()->check(output_file());
  cmd->add_option("--model", a->model, "widemlp|linear")->capture_default_str()->check(CLI::IsMember({"widemlp", "linear"}));
  cmd->add_option("--seed", a->seed, "Random seed")->capture_default_str()->check(non_negative_integer());
  cmd->add_option("--members", a->members, "Ensemble size: members differ by seed, their probabilities are averaged")
      ->capture_default_str()->check(integer_in(1, router::kMaxMembers));
  cmd->add_option("--hidden", a->hidden, "WideMLP hidden units")->capture_default_str()->check(integer_in(1, 65536));
  cmd->add_option("--epochs", a->epochs, "Maximum epochs")->capture_default_str()->check(integer_in(1, 1000));
  cmd->add_option("--patience", a->patience, "Early-stopping patience (epochs)")->capture_default_str()->check(integer_in(1, 1000));
  cmd->add_option("--batch", a->batch, "Mini-batch size")->capture_default_str()->check(integer_in(1, 4096));
  cmd->add_option("--lr", a->lr, "Adam learning rate")->capture_default_str()->check(real_in(1e-8, 10));
  cmd->add_option("--weight-decay", a->wd, "AdamW decoupled weight decay")->capture_default_str()->check(real_in(0, 10));
  cmd->add_option("--dropout-input", a->dropout_in, "Input-feature dropout")->capture_default_str()->check(real_in(0.0, 0.95));
  cmd->add_option("--dropout-hidden", a->dropout_hidden, "Hidden dropout")->capture_default_str()->check(real_in(0.0, 0.95));
  cmd->add_option("--label-smoothing", a->label_smoothing, "Label smoothing")->capture_default_str()->check(real_in(0.0, 0.5));
  cmd->add_option("--dim-log2", a->dim_log2, "log2 of the hashed feature space")->capture_default_str()->check(integer_in(8, 24));
  cmd->add_option("--char-weight", a->char_weight, "Weight of character n-grams vs words")->capture_default_str()
      ->check(real_in(0, 1000));
  cmd->add_option("--ood-weight", a->ood_weight, "Loss weight of the out-of-domain class")->capture_default_str()
      ->check(real_in(0, 1000));
  cmd->add_option("--guard-score", a->guard, "max_prob|energy|margin|auto")
      ->capture_default_str()->check(CLI::IsMember({"max_prob", "energy", "margin", "auto"}));
  cmd->add_option("--min-ood-recall", a->min_ood_recall,
                  "Calibrate the guard for the best accuracy at this OOD recall (default: best GQR)")
      ->capture_default_str()->check(real_in(0.0, 1.0));
  cmd->add_flag("--no-ood-class", a->no_ood_class, "Do not train an explicit out-of-domain class");
  cmd->add_flag("--coarse", a->coarse, "Train on categories directly, not on fine labels");
  cmd->add_flag("--quiet", a->quiet, "No progress bar or epoch lines");
  cmd->add_flag("--json", a->json, "Print a JSON summary on stdout");
  cmd->callback([a, &exit_code] {
    auto data = router::load_dataset(a->data, a->format, router::parse_label_mode(a->labels), a->domains);
    if (!a->extra_ood.empty())
      router::add_ood_examples(data, router::load_dataset(a->extra_ood, "jsonl", router::LabelMode::kDefault));
    router::RouterTrainOptions opt;
    opt.kind = router::parse_model_kind(a->model);
    opt.features.dim = 1u << a->dim_log2;
    opt.features.char_weight = a->char_weight;
    if (!a->embeddings.empty()) opt.embeddings = router::load_use_lite(a->embeddings, router::parse_pooling(a->pooling));
    opt.train.hidden = a->hidden;
    opt.train.max_epochs = a->epochs;
    opt.train.patience = a->patience;
    opt.train.batch = a->batch;
    opt.train.lr = a->lr;
    opt.train.weight_decay = a->wd;
    opt.train.dropout_input = a->dropout_in;
    opt.train.dropout_hidden = a->dropout_hidden;
    opt.train.label_smoothing = a->label_smoothing;
    opt.train.seed = a->seed;
    opt.train.progress = !a->quiet;
    opt.ood_class = !a->no_ood_class;
    opt.fine_labels = !a->coarse;
    opt.members = a->members;
    opt.ood_weight = a->ood_weight;
    opt.guard_score = a->guard;
    opt.min_ood_recall = a->min_ood_recall;
    if (!a->quiet) opt.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    if (!a->quiet)
      std::fprintf(stderr, "train-router: %zu train, %zu val examples; model %s\n", data.split("train").size(),
                   data.split("val").size(), a->model.c_str());
    const auto m = router::train_router(data, opt);
    router::save_router(m, a->out);
    nlohmann::json summary = {{"out", a->out},          {"labels", m.labels.size()},
                              {"categories", m.categories.size()}, {"guard", m.guard.to_json()},
                              {"info", m.info}};
    if (a->json)
      std::printf("%s\n", models::json_text(summary, 2).c_str());
    else
      std::printf("wrote %s: %zu categories, %zu labels, guard %s < %.4f\n", a->out.c_str(), m.categories.size(),
                  m.labels.size(), router::guard_score_name(m.guard.score), m.guard.threshold);
    exit_code = 0;
  });
}

}  // namespace chorus::cli
