package io.ceiba.edge;

import io.ceiba.acme.AcmeChallenges;
import io.ceiba.error.ErrorCode;
import io.vertx.core.http.HttpMethod;

/**
 * Answers ACME HTTP-01 challenges for the hosts of services with {@code tls: { acme: true }}: a {@code GET
 * /.well-known/acme-challenge/<token>} gets the key authorization the ordering node sent every edge, whichever
 * node the CA reached, and an unknown token a 404. Other services' challenge paths go to their backends as usual.
 */
final class AcmeChallengeStep {

  private final AcmeChallenges challenges;
  private final ExchangeEnd end;

  /** @param challenges null on a node without them: nothing is answered here */
  AcmeChallengeStep(AcmeChallenges challenges, ExchangeEnd end) {
    this.challenges = challenges;
    this.end = end;
  }

  /** @return true when the exchange was answered here */
  boolean answered(Exchange ex) {
    if (challenges == null || !ex.service.acme() || ex.request.method() != HttpMethod.GET) {
      return false;
    }
    String path = ex.request.path();
    if (path == null || !path.startsWith(AcmeChallenges.PATH_PREFIX)) {
      return false;
    }
    String answer = challenges.answer(path.substring(AcmeChallenges.PATH_PREFIX.length()));
    if (answer == null) {
      end.fail(ex, ErrorCode.NOT_FOUND, "no ACME challenge with this token");
      return true;
    }
    ex.response.setStatusCode(200).putHeader("content-type", "application/octet-stream").end(answer);
    end.finish(ex, 200, null);
    return true;
  }
}
