/* libltc (Robin Gareus's, Debian's libltc-dev) on the command line, for the LTC live tests:
 *
 *   ltc_tool encode FPS HH:MM:SS:FF SECONDS RATE   raw float32 LTC on stdout
 *   ltc_tool decode FPS RATE                       raw float32 on stdin; a line a frame read:
 *                                                  HH:MM:SS:FF DROP OFF_START OFF_END REVERSE
 *
 * FPS is 24, 25, 29.97 or 30. Nothing here is Somnia's: it is the reference the tests hold
 * Somnia's own LTC to. */
#include <ltc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum LTC_TV_STANDARD standard(double fps) {
  if (fps == 25.0) return LTC_TV_625_50;
  if (fps == 24.0) return LTC_TV_FILM_24;
  return LTC_TV_525_60;
}

static int encode(double fps, const char *start, double seconds, double rate) {
  SMPTETimecode tc;
  memset(&tc, 0, sizeof tc);
  strcpy(tc.timezone, "+0000");
  tc.years = 0; tc.months = 1; tc.days = 1;
  unsigned h, m, s, f;
  if (sscanf(start, "%u:%u:%u:%u", &h, &m, &s, &f) != 4) return 2;
  tc.hours = h; tc.mins = m; tc.secs = s; tc.frame = f;
  LTCEncoder *e = ltc_encoder_create(rate, fps, standard(fps), 0);
  if (!e) return 3;
  ltc_encoder_set_timecode(e, &tc);
  ltc_encoder_set_volume(e, -6.0);
  size_t frames = (size_t)(seconds * fps + 0.5);
  ltcsnd_sample_t *buf;
  for (size_t i = 0; i < frames; i++) {
    ltc_encoder_encode_frame(e);
    int n = ltc_encoder_get_bufferptr(e, &buf, 1);
    for (int k = 0; k < n; k++) {
      float v = ((float)buf[k] - 128.0f) / 128.0f;
      fwrite(&v, sizeof v, 1, stdout);
    }
    ltc_encoder_inc_timecode(e);
  }
  ltc_encoder_free(e);
  return 0;
}

static int decode(double fps, double rate) {
  LTCDecoder *d = ltc_decoder_create((int)(rate / fps), 32);
  if (!d) return 3;
  float buf[1024];
  ltc_off_t pos = 0;
  size_t n;
  LTCFrameExt frame;
  SMPTETimecode tc;
  while ((n = fread(buf, sizeof(float), 1024, stdin)) > 0) {
    ltc_decoder_write_float(d, buf, n, pos);
    pos += n;
    while (ltc_decoder_read(d, &frame)) {
      ltc_frame_to_time(&tc, &frame.ltc, 0);
      printf("%02d:%02d:%02d:%02d %d %lld %lld %d\n", tc.hours, tc.mins, tc.secs, tc.frame,
             frame.ltc.dfbit, (long long)frame.off_start, (long long)frame.off_end, frame.reverse);
    }
  }
  ltc_decoder_free(d);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 6 && !strcmp(argv[1], "encode"))
    return encode(atof(argv[2]), argv[3], atof(argv[4]), atof(argv[5]));
  if (argc == 4 && !strcmp(argv[1], "decode")) return decode(atof(argv[2]), atof(argv[3]));
  fprintf(stderr, "usage: ltc_tool encode FPS HH:MM:SS:FF SECONDS RATE | decode FPS RATE\n");
  return 2;
}
