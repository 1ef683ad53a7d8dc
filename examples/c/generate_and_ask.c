/* chorus from C: stream a generation, then ask a composition of experts.
 *   generate_and_ask MODEL [EXPERTS_CONFIG [ROUTER]]
 * Build against the installed package (see examples/c/CMakeLists.txt, or
 * `cc generate_and_ask.c $(pkg-config --cflags --libs chorus)`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chorus/chorus.h>

static bool print_piece(const char* piece, void* user_data) {
  int* count = (int*)user_data;
  ++*count;
  fputs(piece, stdout);
  fflush(stdout);
  return true; /* false would stop the generation here */
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL [EXPERTS_CONFIG [ROUTER]]\n", argv[0]);
    return 2;
  }
  printf("chorus %s\n", chorus_version());

  chorus_model* model = NULL;
  if (chorus_model_open(argv[1], &model) != CHORUS_OK) {
    fprintf(stderr, "open: %s\n", chorus_last_error());
    return 1;
  }
  chorus_model_info info;
  info.struct_size = sizeof info;
  chorus_model_get_info(model, &info);
  printf("%s (%s): %d layers, vocabulary %d\n", info.name, info.architecture, info.n_layers, info.vocab_size);

  chorus_generate_params params = chorus_generate_params_default();
  params.max_tokens = 32;
  params.temperature = 0; /* greedy */
  params.chat = info.has_chat_template;
  int pieces = 0;
  char* text = NULL;
  chorus_status status = chorus_generate(model, "Once upon a time", &params, print_piece, &pieces, &text);
  if (status != CHORUS_OK) {
    fprintf(stderr, "\ngenerate: %s: %s\n", chorus_status_name(status), chorus_last_error());
    chorus_model_close(model);
    return 1;
  }
  printf("\n[%d pieces streamed]\n", pieces);
  chorus_string_free(text);

  /* A mistake is a status and a message, never a crash. */
  status = chorus_generate(model, NULL, NULL, NULL, NULL, NULL);
  printf("generate(NULL prompt): %s: %s\n", chorus_status_name(status), chorus_last_error());
  chorus_model_close(model);

  if (argc >= 3) {
    chorus_composer_params cp = chorus_composer_params_default();
    cp.router = argc >= 4 ? argv[3] : NULL;
    chorus_composer* composer = NULL;
    if (chorus_composer_open_with(argv[2], &cp, &composer) != CHORUS_OK) {
      fprintf(stderr, "composer: %s\n", chorus_last_error());
      return 1;
    }
    char* json = NULL;
    status = chorus_ask(composer, "Tell me a story about a brave mouse.", &json);
    if (status != CHORUS_OK) {
      fprintf(stderr, "ask: %s\n", chorus_last_error());
      chorus_composer_close(composer);
      return 1;
    }
    /* {"answer": ..., "ok": true, "nodes": [...], "failures": [...], "plan": ..., "tier_moves": ..., ...} */
    printf("ask: %s\n%.300s\n", strstr(json, "\"ok\": true") ? "ok" : "incomplete", json);
    chorus_string_free(json);
    chorus_composer_close(composer);
  }
  return 0;
}
